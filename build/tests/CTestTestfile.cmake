# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit_json "/work/main/build/tests/unit_json")
set_tests_properties(unit_json PROPERTIES  ENVIRONMENT "TESTS_DIR=/work/main/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;8;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_mirror "/work/main/build/tests/unit_mirror")
set_tests_properties(unit_mirror PROPERTIES  ENVIRONMENT "TESTS_DIR=/work/main/tests" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;8;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_badinput "bash" "/work/main/tests/e2e_badinput.sh")
set_tests_properties(e2e_badinput PROPERTIES  ENVIRONMENT "COORDSYNC=/work/main/build/coordsync;TESTS_DIR=/work/main/tests;COORDSYNC_SANITIZED=" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_roundtrip "bash" "/work/main/tests/e2e_roundtrip.sh")
set_tests_properties(e2e_roundtrip PROPERTIES  ENVIRONMENT "COORDSYNC=/work/main/build/coordsync;TESTS_DIR=/work/main/tests;COORDSYNC_SANITIZED=" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_seed_interop "bash" "/work/main/tests/e2e_seed_interop.sh")
set_tests_properties(e2e_seed_interop PROPERTIES  ENVIRONMENT "COORDSYNC=/work/main/build/coordsync;TESTS_DIR=/work/main/tests;COORDSYNC_SANITIZED=" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_stress "bash" "/work/main/tests/e2e_stress.sh")
set_tests_properties(e2e_stress PROPERTIES  ENVIRONMENT "COORDSYNC=/work/main/build/coordsync;TESTS_DIR=/work/main/tests;COORDSYNC_SANITIZED=" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_valgrind "bash" "/work/main/tests/e2e_valgrind.sh")
set_tests_properties(e2e_valgrind PROPERTIES  ENVIRONMENT "COORDSYNC=/work/main/build/coordsync;TESTS_DIR=/work/main/tests;COORDSYNC_SANITIZED=" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;15;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(schemas "python3" "/work/main/tests/check_schemas.py" "/work/main")
set_tests_properties(schemas PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;21;add_test;/work/main/tests/CMakeLists.txt;0;")
