#!/bin/sh
# scripthello: prints its version.
echo "scripthello @VERSION@"
