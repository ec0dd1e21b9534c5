#ifndef AUTOHELLO_H
#define AUTOHELLO_H

#include <stddef.h>

/* autohello_greeting reads the first line of the file at path into buf,
 * without its newline. It returns 0, or -1 with errno set. */
int autohello_greeting(const char *path, char *buf, size_t size);

#endif
