// The human report: an Analysis rendered for a terminal as an incident summary (capture
// overview, one block per attack with timing, peaks, sources, evidence and ransom notes, then
// scanners). Human units and UTC times come from format.h. Untrusted text (ransom notes, AS
// names) is reduced to printable ASCII so it cannot drive the terminal.
#pragma once

#include <string>

#include "report/analysis.h"
#include "report/asn_db.h"

namespace bw {

struct TextReportOptions {
  bool color = false;               // ANSI colours; see wantColor()
  std::string command = "analyze";  // the first line reads "breakwater <command>: <source>"
  std::size_t max_scanners = 50;    // scanners listed before "... and N more"
};

// `asn` may be null (no AS column).
std::string renderText(const Analysis& analysis, const AsnDatabase* asn,
                       const TextReportOptions& options = {});

// Colours only for a terminal, and never when NO_COLOR is set to a non-empty value
// (https://no-color.org) or TERM is "dumb".
bool wantColor(int fd);

}  // namespace bw
