/* Greets its argument; the copy into a stack buffer gives the stack
 * protector and fortify something to guard. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
	char name[64];
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("ownflags %s\n", VERSION);
		return 0;
	}
	strncpy(name, argc > 1 ? argv[1] : "world", sizeof name - 1);
	name[sizeof name - 1] = '\0';
	printf("hello, %s\n", name);
	return 0;
}
