/* Preloaded into Debian's debuginfod by StrippedNamesTests: debuginfod 0.188 has no option for the
 * address it listens on and binds every address ("::", dual stack). This binds a wildcard address to
 * loopback instead (IPv6 "::" to "::ffff:127.0.0.1", so the dual-stack socket takes 127.0.0.1 only;
 * IPv4 0.0.0.0 to 127.0.0.1), so the test's server is never reachable from another machine. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (address && address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 loopback;
        memcpy(&loopback, address, sizeof loopback);
        if (IN6_IS_ADDR_UNSPECIFIED(&loopback.sin6_addr)) {
            inet_pton(AF_INET6, "::ffff:127.0.0.1", &loopback.sin6_addr);
            return real_bind(fd, (const struct sockaddr *)&loopback, sizeof loopback);
        }
    } else if (address && address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in loopback;
        memcpy(&loopback, address, sizeof loopback);
        if (loopback.sin_addr.s_addr == htonl(INADDR_ANY)) {
            loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&loopback, sizeof loopback);
        }
    }
    return real_bind(fd, address, length);
}
