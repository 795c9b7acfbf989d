# run_fuzz.cmake: what a fuzz_<name> ctest runs. Copies the committed seed corpus SEEDS to a
# fresh WORK/corpus (libFuzzer adds inputs to its corpus dir: never the source tree), then
# fuzzes for SECONDS under ASan+UBSan. Any crash, leak, timeout (> 5 s for one input) or
# out-of-memory (> 2 GiB) fails the test; the input is left in WORK as crash-*/leak-*/...
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(COPY ${SEEDS}/ DESTINATION ${WORK}/corpus)
set(ENV{ASAN_OPTIONS} "detect_leaks=1:abort_on_error=0")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=5 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-* ${WORK}/slow-unit-*)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); reproduce with: ${FUZZER} ${found}")
endif()
