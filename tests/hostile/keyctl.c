// Kernel keyrings (shared by every process of a host uid, so a channel between sandboxes):
// add_key, request_key and keyctl must be refused. A key that gets created is invalidated.
#include <linux/keyctl.h>
#include <sys/syscall.h>

#include "guard.h"

static int AddKey(void) {
  long key = syscall(SYS_add_key, "user", "warden-hostile", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  if (key >= 0)
    syscall(SYS_keyctl, KEYCTL_INVALIDATE, key);
  Expect("add_key(user)", key);
  return ExitStatus();
}

static int UserKeyring(void) {
  Expect("keyctl(KEYCTL_GET_KEYRING_ID, user keyring)",
         syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
  return ExitStatus();
}

static int JoinSession(void) {
  Expect("keyctl(KEYCTL_JOIN_SESSION_KEYRING)",
         syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "warden-hostile"));
  return ExitStatus();
}

static int RequestKey(void) {
  long r = syscall(SYS_request_key, "user", "warden-hostile", NULL, KEY_SPEC_PROCESS_KEYRING);
  // Where keyrings work this fails with ENOKEY: only a policy refusal counts as contained.
  if (r < 0 && errno == ENOKEY) {
    Escaped("request_key(user)", "(reached the keyring: ENOKEY)");
  } else {
    Expect("request_key(user)", r);
  }
  return ExitStatus();
}

int main(void) {
  RequireSandbox();
  InChild("add_key(user)", AddKey);
  InChild("keyctl(KEYCTL_GET_KEYRING_ID, user keyring)", UserKeyring);
  InChild("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", JoinSession);
  InChild("request_key(user)", RequestKey);
  return ExitStatus();
}
