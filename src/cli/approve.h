// Answering the approvals of `warden serve`'s jobs from the command line: `warden approve JOB`
// for scripts, and the inline question that `warden submit --wait` and `warden chat` ask.
#pragma once

#include <string>

#include "cli/api_client.h"

#include "base/json.h"

namespace warden::cli {

// Called with each "approval" event of a followed job (the event {seq, type, data}): one that asks
// (decision "pending") is put to the terminal as y/N/a(lways) and answered; without a terminal,
// the standard error says how to answer it with `warden approve`. Other approval events: nothing.
void AnswerOnTerminal(const ServerFlags& flags, const std::string& job_id,
                      const json::object& event);

// `warden approve JOB [--deny] [--always] [--reason TEXT] [--id N] [--list]`.
int Approve(int argc, char** argv);

}  // namespace warden::cli
