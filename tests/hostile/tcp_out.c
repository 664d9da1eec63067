// TCP to the outside. Usage: tcp_out HOST_LOOPBACK_PORT GATEWAY_IP
// Connects to public addresses, to the host's default gateway, and to a port the test listens on
// at the host's 127.0.0.1. Each must fail at once (ENETUNREACH, ECONNREFUSED: the sandbox has
// its own loopback). Also lists the network interfaces: only "lo" may exist.
#include "net_common.h"

int main(int argc, char** argv) {
  RequireSandbox();
  if (argc != 3)
    return kExitUnexpected;
  TryConnect("1.1.1.1", 80);
  TryConnect("8.8.8.8", 53);
  TryConnect(argv[2], 80);
  TryConnect("127.0.0.1", atoi(argv[1]));

  char dev[4096];
  if (ReadSmallFile("/proc/self/net/dev", dev, sizeof(dev)) < 0)
    return kExitUnexpected;
  // Lines after the two headers are "  name: counters...".
  const char* line = strchr(dev, '\n');
  line = line != NULL ? strchr(line + 1, '\n') : NULL;
  for (; line != NULL && line[1] != '\0'; line = strchr(line + 1, '\n')) {
    char name[64];
    if (sscanf(line + 1, " %63[^:]:", name) != 1)
      continue;
    printf("interface: %s\n", name);
    if (strcmp(name, "lo") != 0)
      Escaped("interface", name);
  }
  return ExitStatus();
}
