#!/bin/sh
# hello-pages: the fixture of documentation handling.
echo "hello from hello-pages"
