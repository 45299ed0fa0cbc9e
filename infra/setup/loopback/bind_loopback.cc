// bind_loopback: an LD_PRELOAD shim that turns bind() to the wildcard address
// (0.0.0.0 or ::) into bind() to loopback (127.0.0.1 or ::ffff:127.0.0.1), so
// that servers without a listen-address option (DynamoDB Local, Airflow's log
// server) stay on this machine. Explicit addresses pass through untouched.
// Built by infra/setup/setup.sh into $VIGIL_HOME/lib/libvigil_bind_loopback.so.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace {

using BindFn = int (*)(int, const sockaddr*, socklen_t);

BindFn RealBind() {
  static BindFn real = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  return real;
}

}  // namespace

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  if (addr != nullptr && addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in in4;
    std::memcpy(&in4, addr, sizeof(in4));
    if (in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
      in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return RealBind()(fd, reinterpret_cast<const sockaddr*>(&in4), sizeof(in4));
    }
  } else if (addr != nullptr && addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof(in6));
    if (std::memcmp(&in6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0) {
      // v4-mapped loopback: IPv4 clients reach 127.0.0.1 on a dual-stack socket.
      static const unsigned char kMappedLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
      std::memcpy(&in6.sin6_addr, kMappedLoopback, sizeof(kMappedLoopback));
      return RealBind()(fd, reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
    }
  }
  return RealBind()(fd, addr, len);
}
