// cmd_report.h: the manual side of reporting (docs/report.md).
//  `webseed-agent report --flush`: send the spooled reports now, oldest first.
//  `webseed-agent withdraw`: tell the central team to stop listing this mirror (a report of
//  kind "withdraw", through the spool so it is never lost); later `run`s report
//  opted_in: false until `withdraw --cancel`.
// Both take the state lock (exit 4 when a run holds it) and need report.endpoint.
#pragma once

#include "exit_code.h"
#include "settings.h"

#include <ostream>

namespace agent {

// 0 when the spool is empty afterwards, 1 when reports remain (the messages say why).
ExitCode run_report_flush(const Overrides& overrides, std::ostream& out);

// 0 when the withdraw report was delivered (or, with cancel, the mirror opted in again),
// 1 when it is spooled for the next run or `report --flush`.
ExitCode run_withdraw(const Overrides& overrides, bool cancel, std::ostream& out);

} // namespace agent
