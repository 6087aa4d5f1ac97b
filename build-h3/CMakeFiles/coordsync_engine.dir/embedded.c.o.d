CMakeFiles/coordsync_engine.dir/embedded.c.o: \
 /work/main/build-h3/embedded.c /usr/include/stdc-predef.h \
 /work/main/engine/embedded.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
