#include <stdio.h>

int main(void)
{
	printf("makehello %s\n", VERSION);
	return 0;
}
