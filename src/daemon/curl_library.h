// libcurl, loaded when the first webhook is made rather than when the program starts.
//
// Only the webhook action uses libcurl, and linking it costs every command, `analyze` of a
// small capture as much as the sensor, some thirty more shared libraries (TLS, Kerberos,
// LDAP, SSH, ...) mapped and relocated at start-up: 2.6 ms of the 8 it took. The functions
// the webhook calls are looked up once, with dlopen/dlsym, from the library's run-time name
// (libcurl.so.4); the types come from its headers, so a signature that does not match them
// does not compile. Without libcurl on the machine, making a webhook fails with a sentence
// saying so and everything else works.
// Thread-safety: curlLibrary() may be called from any thread; the table it returns is
// immutable and lives until the program ends.
#pragma once

#include <curl/curl.h>

#include <string>

namespace bw {

struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_strerror) url_strerror;
  decltype(&::curl_free) free;
};

// The loaded library with curl_global_init() done, or nullptr with *error saying why (the
// library or one of its functions is missing). Loads at most once; later calls return the
// first call's outcome.
const CurlLibrary* curlLibrary(std::string* error);

// Loads the library `soname` and looks up every function; no curl_global_init(). False with
// *error set when either fails. What curlLibrary() does once with "libcurl.so.4".
bool loadCurlLibrary(const char* soname, CurlLibrary& out, std::string* error);

}  // namespace bw
