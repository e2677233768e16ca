// test_main.cc: the Catch2 (v2) main of the unit-test binary; tests live beside their code
// as *_test.cc.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
