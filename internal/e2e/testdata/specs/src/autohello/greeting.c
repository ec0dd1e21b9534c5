#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "autohello.h"

int autohello_greeting(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, (int)size, f) == NULL) {
		fclose(f);
		errno = ENODATA;
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}
