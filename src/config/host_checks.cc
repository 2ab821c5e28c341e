#include "config/host_checks.h"

#include <net/if.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/toml_reader.h"

namespace bw {

namespace {

using config_internal::quotedText;

class HostChecker {
 public:
  explicit HostChecker(const ConfigPositions& positions) : positions_(positions) {}

  // A problem with setting `path`, placed where the file wrote it.
  void warn(const std::string& path, std::string what) {
    ConfigPosition at;
    if (auto it = positions_.find(path); it != positions_.end()) at = it->second;
    problems_.push_back(ConfigProblem{at.line, at.column, std::move(what)});
  }
  bool written(const std::string& path) const { return positions_.count(path) != 0; }
  std::vector<ConfigProblem> take() { return std::move(problems_); }

 private:
  const ConfigPositions& positions_;
  std::vector<ConfigProblem> problems_;
};

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool isExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A file the sensor creates or appends to (the store, the event log): its directory must
// exist and be writable (SQLite also creates its journal there), and the file, if present,
// must be writable. `what` names the setting and its value for the message.
void checkWritableFile(HostChecker& c, const std::string& key, const std::string& file) {
  const std::string what = key + " " + file + (c.written(key) ? "" : " (the default)");
  std::string dir = std::filesystem::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  if (!exists(dir)) {
    c.warn(key, what + " is in " + dir + ", which does not exist");
  } else if (!isDirectory(dir)) {
    c.warn(key, what + " is in " + dir + ", which is not a directory");
  } else if (isDirectory(file)) {
    c.warn(key, what + " is a directory");
  } else if (exists(file) && ::access(file.c_str(), W_OK) != 0) {
    c.warn(key, what + " exists and is not writable by this user (uid " +
                    std::to_string(::getuid()) + ")");
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    c.warn(key, what + " is in " + dir + ", which is not writable by this user (uid " +
                    std::to_string(::getuid()) + ")");
  }
}

bool userExists(const std::string& name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::string buf(size > 0 ? static_cast<std::size_t>(size) : 16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  while (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == ERANGE &&
         buf.size() < (1u << 20)) {
    buf.resize(buf.size() * 2);
  }
  return found != nullptr;
}

// As execvp() would find it: a name with a '/' is a path, any other is looked up in PATH.
bool commandFound(const std::string& command) {
  if (command.find('/') != std::string::npos) return isExecutableFile(command);
  const char* env = std::getenv("PATH");
  std::string_view path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const std::size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (dir.empty()) dir = ".";
    if (isExecutableFile(dir + "/" + command)) return true;
    if (colon == std::string_view::npos) return false;
    path.remove_prefix(colon + 1);
  }
}

}  // namespace

std::vector<ConfigProblem> checkHost(const LoadedConfig& config, const ConfigPositions& positions) {
  HostChecker c(positions);
  const SensorSettings& sensor = config.sensor;
  for (std::size_t i = 0; i < sensor.interfaces.size(); ++i) {
    const std::string& name = sensor.interfaces[i];
    if (::if_nametoindex(name.c_str()) == 0) {
      const std::string key = "sensor.interfaces[" + std::to_string(i) + "]";
      c.warn(key, key + " " + quotedText(name) + " is not an interface of this host");
    }
  }
  if (!sensor.user.empty() && !userExists(sensor.user)) {
    c.warn("sensor.user", "sensor.user " + quotedText(sensor.user) + " is not a user of this host");
  }
  if (config.store.enabled) checkWritableFile(c, "store.path", config.store.path);
  if (!config.events.file.empty()) checkWritableFile(c, "events.file", config.events.file);
  if (!config.events.notify.empty() && !commandFound(config.events.notify[0])) {
    const std::string& command = config.events.notify[0];
    c.warn("events.notify[0]", "events.notify[0] " + quotedText(command) +
                                   " is not an executable file" +
                                   (command.find('/') == std::string::npos ? " in PATH" : ""));
  }
  if (config.asn_db) {
    const std::string& db = *config.asn_db;
    if (!exists(db)) {
      c.warn("enrich.asn_db", "enrich.asn_db " + db + " does not exist");
    } else if (isDirectory(db)) {
      c.warn("enrich.asn_db", "enrich.asn_db " + db + " is a directory");
    } else if (::access(db.c_str(), R_OK) != 0) {
      c.warn("enrich.asn_db", "enrich.asn_db " + db + " is not readable by this user (uid " +
                                  std::to_string(::getuid()) + ")");
    }
  }
  return c.take();
}

}  // namespace bw
