// See curl_library.h.
#include "daemon/curl_library.h"

#include <dlfcn.h>

namespace bw {
namespace {

constexpr const char* kSoname = "libcurl.so.4";

template <typename F>
bool resolve(void* handle, const char* soname, const char* name, F& out, std::string* error) {
  void* sym = ::dlsym(handle, name);
  if (sym == nullptr) {
    *error = std::string(soname) + " has no " + name + " (libcurl 7.80 or newer is needed)";
    return false;
  }
  out = reinterpret_cast<F>(sym);
  return true;
}

struct Loaded {
  CurlLibrary lib{};
  bool ok = false;
  std::string error;
};

Loaded loadOnce() {
  Loaded l;
  l.ok = loadCurlLibrary(kSoname, l.lib, &l.error);
  if (!l.ok) return l;
  if (const CURLcode rc = l.lib.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    l.ok = false;
    l.error = std::string("libcurl failed to initialise: ") + l.lib.easy_strerror(rc);
  }
  return l;
}

}  // namespace

bool loadCurlLibrary(const char* soname, CurlLibrary& c, std::string* error) {
  // Never unloaded: webhooks may run until the program ends.
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    *error = "webhooks need libcurl, which cannot be loaded (" +
             std::string(why != nullptr ? why : soname) + "); on Debian: apt-get install libcurl4";
    return false;
  }
  const bool ok = resolve(handle, soname, "curl_global_init", c.global_init, error) &&
                  resolve(handle, soname, "curl_easy_init", c.easy_init, error) &&
                  resolve(handle, soname, "curl_easy_setopt", c.easy_setopt, error) &&
                  resolve(handle, soname, "curl_easy_perform", c.easy_perform, error) &&
                  resolve(handle, soname, "curl_easy_getinfo", c.easy_getinfo, error) &&
                  resolve(handle, soname, "curl_easy_cleanup", c.easy_cleanup, error) &&
                  resolve(handle, soname, "curl_easy_strerror", c.easy_strerror, error) &&
                  resolve(handle, soname, "curl_slist_append", c.slist_append, error) &&
                  resolve(handle, soname, "curl_slist_free_all", c.slist_free_all, error) &&
                  resolve(handle, soname, "curl_url", c.url, error) &&
                  resolve(handle, soname, "curl_url_set", c.url_set, error) &&
                  resolve(handle, soname, "curl_url_get", c.url_get, error) &&
                  resolve(handle, soname, "curl_url_cleanup", c.url_cleanup, error) &&
                  resolve(handle, soname, "curl_url_strerror", c.url_strerror, error) &&
                  resolve(handle, soname, "curl_free", c.free, error);
  if (!ok) ::dlclose(handle);
  return ok;
}

const CurlLibrary* curlLibrary(std::string* error) {
  static const Loaded loaded = loadOnce();  // thread-safe, once
  if (!loaded.ok) {
    if (error != nullptr) *error = loaded.error;
    return nullptr;
  }
  return &loaded.lib;
}

}  // namespace bw
