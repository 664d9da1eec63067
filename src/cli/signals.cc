#include "cli/signals.h"

#include <signal.h>

#include <atomic>

namespace warden::cli {
namespace {

std::atomic<sandbox::CancelToken*> g_cancel{nullptr};
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  g_signal = sig;
  if (sandbox::CancelToken* cancel = g_cancel.load()) {
    cancel->Cancel();  // an eventfd write and an atomic store: async-signal-safe
  }
}

}  // namespace

void CancelOnSignals(sandbox::CancelToken* cancel) {
  g_cancel = cancel;
  if (cancel == nullptr) {
    return;
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::sigaction(sig, &action, nullptr);
  }
}

int CaughtSignal() {
  return g_signal;
}

}  // namespace warden::cli
