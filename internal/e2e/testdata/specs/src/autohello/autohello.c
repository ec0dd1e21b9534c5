#include <stdio.h>
#include <string.h>
#include "config.h"
#include "autohello.h"

int main(int argc, char **argv)
{
	char greeting[256];

	if (argc > 1 && strcmp(argv[1], "--greeting") == 0) {
		if (autohello_greeting(SYSCONFDIR "/autohello.conf", greeting, sizeof greeting) != 0) {
			perror(SYSCONFDIR "/autohello.conf");
			return 1;
		}
		puts(greeting);
		return 0;
	}
	printf("autohello %s\n", PACKAGE_VERSION);
	return 0;
}
