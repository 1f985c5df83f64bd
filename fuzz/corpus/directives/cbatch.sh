#!/bin/sh
# plain comment
#CBATCH --partition=debug --mem-per-cpu=512M
#CBATCH --export=ALL,FOO='a b' --comment "it\'s \"quoted\""
#CBATCH --hold --time=UNLIMITED
srun hostname
