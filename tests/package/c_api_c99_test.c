/* runtime/include/rvgg/rvgg.h as C: this file is compiled with -std=c99
 * -pedantic -Werror (see CMakeLists.txt), so a header that is not valid C99
 * breaks the build; running it checks the C API answers from C. */
#include <stdio.h>
#include <string.h>

#include "rvgg/rvgg.h"

static int failures = 0;

static void check(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

int main(void) {
  rvgg_options options;
  rvgg_message message;
  rvgg_model_info info;
  rvgg_model* model = NULL;
  static const uint32_t not_a_model[16] = {0}; /* 4-byte aligned, as models must be */
  const char* isa = rvgg_kernel_isa();

  rvgg_options_default(&options);
  /* The best backend the build has: XNNPACK, unless built without it. */
  check(options.backend == (strncmp(isa, "reference", 9) == 0 ? RVGG_BACKEND_REFERENCE : RVGG_BACKEND_XNNPACK),
        "the default backend is the best this build has");
  check(options.arena == NULL && options.flags == 0, "default options borrow nothing");

  check(strcmp(rvgg_status_string(RVGG_STATUS_OK), rvgg_status_string(RVGG_STATUS_INVALID_MODEL)) != 0,
        "statuses have distinct names");
  check(rvgg_model_verify(NULL, 0, &info, &message) == RVGG_STATUS_INVALID_ARGUMENT,
        "verify(NULL) is INVALID_ARGUMENT");
  check(rvgg_model_verify(not_a_model, sizeof not_a_model, &info, &message) == RVGG_STATUS_INVALID_MODEL,
        "verify(zeros) is INVALID_MODEL");
  check(message.text[0] != '\0', "a failed verify says why");
  check(rvgg_model_load(not_a_model, sizeof not_a_model, &options, &model, NULL) == RVGG_STATUS_INVALID_MODEL,
        "load(zeros) is INVALID_MODEL, with a NULL message");
  check(model == NULL, "a failed load returns no model");
  rvgg_model_free(NULL);
  check(isa != NULL && isa[0] != '\0', "rvgg_kernel_isa() names something");

  printf("rvgg %s (schema %d) from C99, kernels: %s\n", RVGG_VERSION_STRING, RVGG_SCHEMA_VERSION, isa);
  printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
