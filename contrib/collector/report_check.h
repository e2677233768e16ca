// report_check.h: is a POSTed body a report the collector takes? Untrusted bytes: parsed with
// nlohmann-json (depth and size bounded by the caller's body limit), validated against
// docs/report.schema.json (compiled in; valijson, draft 7 keywords), then checked against the
// mirror that sent it: its `mirror` must be the token's mirror, its base_url the one
// registered, and the Idempotency-Key header (when sent) must equal its report_id.
#pragma once

#include "store.h"

#include <expected>
#include <string>
#include <string_view>

namespace collector {

// Why a report is refused: one line for the 400 answer, naming the place
// ("/torrents/0/info_hash_v1: does not match the pattern").
using ReportProblem = std::string;

std::expected<IngestedReport, ReportProblem>
check_report(std::string_view body, const MirrorRow& mirror, std::string_view idempotency_key);

} // namespace collector
