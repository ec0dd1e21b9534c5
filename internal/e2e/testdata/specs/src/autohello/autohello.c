#include <stdio.h>
#include "config.h"

int main(void)
{
	printf("autohello %s\n", PACKAGE_VERSION);
	return 0;
}
