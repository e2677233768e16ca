// links_output.h: what `webseed-agent links` prints: a human table or the JSON document
// described in docs/links.md (schema: docs/links.schema.json).
#pragma once

#include "findings.h"
#include "link_audit.h"
#include "util/json_text.h"

#include <ostream>
#include <set>
#include <string>

namespace agent {

enum class Verbose { no, yes };

// Problem entries (errors first, then warnings), each finding with its path, link target
// and hint; with Verbose::yes also the entries that are fine; then a summary line.
// Names are escaped for the terminal.
void print_links_human(std::ostream& out, const LinkAudit& audit, Verbose verbose);

// The `links --json` document (version 1).
util::Json links_json(const LinkAudit& audit);

// One finding as JSON: {"code","severity","path","target","message","hint"}; shared by
// every command that reports findings.
util::Json finding_json(const Finding& finding);

// One finding as human lines, indented by `indent` spaces; shared by every command. With
// `seen_hints`, a hint already printed in this output (the same cause repeated on many files)
// is shown as "hint: as above" instead of in full; the hints printed are added to it.
void print_finding_human(std::ostream& out, const Finding& finding, int indent,
                         std::set<std::string>* seen_hints = nullptr);

} // namespace agent
