// Checks of a valid configuration against the host that would run it, for
// `breakwater check-config`: capture interfaces that do not exist, a sensor.user that is not
// a user, a store or event log in a directory that is missing or not writable, a notify
// command that is not an executable file, an ASN database that cannot be read.
//
// They are separate from the loader because their answers depend on this host and this
// moment (the file may be meant for another machine; an interface may appear later), so
// check-config reports them as warnings unless asked to be strict. Each problem points at
// the setting's line when the file wrote it, and has no position when it is a default.
//
// Thread-safety: reads the file system, the interface list and the user database; no state.
#pragma once

#include <vector>

#include "config/config_file.h"

namespace bw {

// `positions` are the ones checkConfigFile() returned with `config`.
std::vector<ConfigProblem> checkHost(const LoadedConfig& config, const ConfigPositions& positions);

}  // namespace bw
