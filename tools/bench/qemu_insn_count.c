/* qemu-user TCG plugin (plugin API version 1, as qemu-user 7.2 loads it):
 * counts the guest instructions a program executes and prints
 * "guest-instructions: N" when it exits. Time under qemu says nothing about
 * ARM hardware; the instruction count is deterministic and compares kernels.
 *
 *   gcc -O2 -shared -fPIC -fvisibility=hidden qemu_insn_count.c -o insn.so
 *   QEMU_PLUGIN=file=$PWD/insn.so QEMU_LOG=plugin build/aarch64/emulator PROGRAM ...
 *
 * Declarations are written out here (qemu's header is not packaged). */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct {
  const char* target_name;
  struct {
    int min, cur;
  } version;
  _Bool system_emulation;
} qemu_info_t;
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb*);
typedef void (*udata_cb)(qemu_plugin_id_t, void*);
enum { kInlineAddU64 = 0 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb*);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb*, int op, void* ptr,
                                              uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void*);
void qemu_plugin_outs(const char*);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t guest_instructions;

static void OnTranslate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, kInlineAddU64, &guest_instructions,
                                           qemu_plugin_tb_n_insns(tb));
}

static void OnExit(qemu_plugin_id_t id, void* data) {
  (void)id;
  (void)data;
  char line[64];
  snprintf(line, sizeof line, "guest-instructions: %" PRIu64 "\n", guest_instructions);
  qemu_plugin_outs(line);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t* info, int argc,
                                                               char** argv) {
  (void)info;
  (void)argc;
  (void)argv;
  qemu_plugin_register_vcpu_tb_trans_cb(id, OnTranslate);
  qemu_plugin_register_atexit_cb(id, OnExit, NULL);
  return 0;
}
