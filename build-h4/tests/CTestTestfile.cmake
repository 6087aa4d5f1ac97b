# CMake generated Testfile for 
# Source directory: /tmp/h4src/tests
# Build directory: /work/main/build-h4/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
