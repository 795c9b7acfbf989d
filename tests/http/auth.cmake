# Dashboard logins and roles (src/http/auth.c): unit tests on SQLite and PostgreSQL plus the
# `omniva user` commands black-box. Included from the top-level CMakeLists.txt until
# tests/http/CMakeLists.txt exists (then include() it from there).
omniva_test(test_auth ${CMAKE_SOURCE_DIR}/tests/http/test_auth.c omniva_auth)
set_tests_properties(test_auth PROPERTIES TIMEOUT 300)
