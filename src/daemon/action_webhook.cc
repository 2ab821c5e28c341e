// The webhook: the event's JSON POSTed with libcurl (loaded when the first webhook is made: see
// curl_library.h). One easy handle per webhook, used only by its worker thread, so the
// connection is kept alive between events. No retries: a failed
// POST is counted and logged, and the next event tries again. Redirects are not followed.
//
// Log lines name the URL without its user:password and query string, which is where secrets
// usually sit; put tokens in a header.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <utility>

#include "daemon/actions.h"
#include "daemon/curl_library.h"

namespace bw {

namespace {

constexpr const char* kUserAgent = "breakwater/0.1.0";
constexpr std::size_t kBodyKept = 200;  // of a non-2xx answer, for the error message

std::string formatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

bool isTokenChar(unsigned char c) {  // RFC 9110 tchar
  return std::isalnum(c) != 0 || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Status checkHeader(const std::string& header) {
  const std::size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Error{"webhook header '" + header + "' must look like 'Name: value'"};
  }
  for (std::size_t i = 0; i < colon; ++i) {
    if (!isTokenChar(static_cast<unsigned char>(header[i]))) {
      return Error{"webhook header '" + header + "' has an invalid character in its name"};
    }
  }
  for (std::size_t i = colon + 1; i < header.size(); ++i) {
    const auto c = static_cast<unsigned char>(header[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return Error{"webhook header '" + header.substr(0, colon) +
                   "' has a control character (CR, LF, ...) in its value"};
    }
  }
  const std::string_view name(header.data(), colon);
  if (equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Transfer-Encoding") ||
      equalsIgnoreCase(name, "Host")) {
    return Error{"webhook header " + std::string(name) + " is set by Breakwater itself"};
  }
  return {};
}

std::string urlPart(const CurlLibrary& c, CURLU* u, CURLUPart part) {
  char* text = nullptr;
  if (c.url_get(u, part, &text, 0) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  c.free(text);
  return out;
}

// Parses and checks the URL; on success *display is the URL as logs show it.
Status checkUrl(const CurlLibrary& c, const std::string& url, std::string* display) {
  CURLU* u = c.url();
  if (u == nullptr) return Error{"out of memory"};
  const CURLUcode rc = c.url_set(u, CURLUPART_URL, url.c_str(), 0);
  std::string scheme = rc == CURLUE_OK ? urlPart(c, u, CURLUPART_SCHEME) : "";
  std::string host = rc == CURLUE_OK ? urlPart(c, u, CURLUPART_HOST) : "";
  std::string port = rc == CURLUE_OK ? urlPart(c, u, CURLUPART_PORT) : "";
  std::string path = rc == CURLUE_OK ? urlPart(c, u, CURLUPART_PATH) : "";
  c.url_cleanup(u);
  if (rc != CURLUE_OK) {
    return Error{"webhook URL '" + url + "' is not a valid URL (" + c.url_strerror(rc) + ")"};
  }
  if ((scheme != "http" && scheme != "https") || url.find("://") == std::string::npos) {
    return Error{"webhook URL '" + url + "' must start with http:// or https://"};
  }
  if (host.empty()) return Error{"webhook URL '" + url + "' has no host"};
  *display = scheme + "://" + host + (port.empty() ? "" : ":" + port) + path;
  return {};
}

std::string oneLine(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::size_t keepBodyHead(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t bytes = size * n;
  if (body->size() < kBodyKept) body->append(data, std::min(bytes, kBodyKept - body->size()));
  return bytes;  // the rest is read and discarded
}

class Webhook final : public EventAction {
 public:
  Webhook(const CurlLibrary& lib, WebhookOptions options, std::string display, CURL* curl,
          curl_slist* headers)
      : lib_(lib),
        options_(std::move(options)),
        display_(std::move(display)),
        curl_(curl),
        headers_(headers) {
    const long timeout_ms = std::max(1L, std::lround(options_.timeout_s * 1000));
    lib_.easy_setopt(curl_, CURLOPT_URL, options_.url.c_str());
    lib_.easy_setopt(curl_, CURLOPT_POST, 1L);
    lib_.easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    lib_.easy_setopt(curl_, CURLOPT_USERAGENT, kUserAgent);
    lib_.easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    lib_.easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    lib_.easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    lib_.easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    lib_.easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    lib_.easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &keepBodyHead);
    lib_.easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
    lib_.easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
  }
  ~Webhook() override {
    lib_.easy_cleanup(curl_);
    lib_.slist_free_all(headers_);
  }

  std::string name() const override { return "webhook"; }
  bool wants(EventKind kind) const override {
    for (EventKind k : options_.on) {
      if (k == kind) return true;
    }
    return false;
  }

  Status handle(const AttackEvent& event) override {
    const std::string json =
        eventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    lib_.easy_setopt(curl_, CURLOPT_POSTFIELDS, json.data());
    lib_.easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
    body_.clear();
    error_[0] = '\0';
    const CURLcode rc = lib_.easy_perform(curl_);
    lib_.easy_setopt(curl_, CURLOPT_POSTFIELDS, nullptr);  // `json` dies here
    if (rc != CURLE_OK) return Error{"POST " + display_ + " failed: " + describe(rc)};
    long code = 0;
    lib_.easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
      std::string detail = oneLine(body_);
      return Error{"POST " + display_ + " answered HTTP " + std::to_string(code) +
                   (detail.empty() ? "" : ": " + detail)};
    }
    return {};
  }

 private:
  // Stable wording for the same cause, so that repeated failures are recognised as such.
  std::string describe(CURLcode rc) const {
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return "no answer within " + formatSeconds(options_.timeout_s) + " s";
    }
    // The system error says it best for socket failures ("Connection refused"); elsewhere it
    // may be left over from an earlier attempt.
    const bool socket_error =
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
    long os_errno = 0;
    lib_.easy_getinfo(curl_, CURLINFO_OS_ERRNO, &os_errno);
    if (socket_error && os_errno != 0) return std::strerror(static_cast<int>(os_errno));
    if (error_[0] != '\0') return error_;
    return lib_.easy_strerror(rc);
  }

  const CurlLibrary& lib_;
  WebhookOptions options_;
  std::string display_;
  CURL* curl_;
  curl_slist* headers_;
  std::string body_;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace

Result<std::unique_ptr<EventAction>> makeWebhook(const WebhookOptions& options) {
  std::string load_error;
  const CurlLibrary* lib = curlLibrary(&load_error);
  if (lib == nullptr) return Error{load_error};
  std::string display;
  if (Status s = checkUrl(*lib, options.url, &display); !s.ok()) return Error{s.message()};
  if (!std::isfinite(options.timeout_s) || options.timeout_s <= 0) {
    return Error{"the webhook timeout must be a positive number of seconds, got " +
                 formatSeconds(options.timeout_s)};
  }
  for (const std::string& h : options.headers) {
    if (Status s = checkHeader(h); !s.ok()) return Error{s.message()};
  }
  curl_slist* headers = nullptr;
  auto append = [&](const std::string& h) {
    curl_slist* next = lib->slist_append(headers, h.c_str());
    if (next != nullptr) headers = next;
    return next != nullptr;
  };
  // "Expect:" stops libcurl from waiting for a 100 Continue before larger bodies.
  bool own_type = false;
  for (const std::string& h : options.headers) {
    own_type =
        own_type || equalsIgnoreCase(std::string_view(h).substr(0, h.find(':')), "Content-Type");
  }
  bool ok = (own_type || append("Content-Type: application/json")) && append("Expect:");
  for (const std::string& h : options.headers) ok = ok && append(h);
  CURL* curl = ok ? lib->easy_init() : nullptr;
  if (curl == nullptr) {
    lib->slist_free_all(headers);
    return Error{"cannot set up the webhook client (libcurl)"};
  }
  return std::unique_ptr<EventAction>(
      std::make_unique<Webhook>(*lib, options, std::move(display), curl, headers));
}

}  // namespace bw
