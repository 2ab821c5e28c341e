// Process-level operations of the daemon: dropping root after the sockets are open, and
// telling systemd (Type=notify) that start-up is complete.
// Thread-safety: dropPrivileges() before any other thread starts (setuid applies to the
// calling thread's credentials, which glibc then propagates to every thread, but doing it
// first avoids races with threads opening files).
#pragma once

#include <string>

#include "core/result.h"

namespace bw {

// Becomes `user` (and its primary group; supplementary groups cleared) keeping only
// CAP_NET_RAW in the permitted and effective sets, so a capture socket can be reopened when
// its interface comes back. Fails, changing nothing, when not root or the user is unknown.
Status dropPrivileges(const std::string& user);

// The capabilities this process holds in its effective set, as text ("cap_net_raw=ep"),
// for the log.
std::string currentCapabilities();

// Sends `state` ("READY=1", "STOPPING=1", "RELOADING=1") to $NOTIFY_SOCKET when systemd set
// it; does nothing otherwise. Never fails loudly.
void notifySystemd(const std::string& state);

}  // namespace bw
