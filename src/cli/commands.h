// Subcommands of the warden binary. Each takes the arguments after its name and returns the
// process exit code. CLI11 stays inside the cli/*.cc files: it is slow to compile.
#pragma once

#include <string>
#include <vector>

namespace warden::cli {

int Exec(int argc, char** argv);
int Doctor(int argc, char** argv);
int Run(int argc, char** argv);
// runs: the recent runs of `warden run`.
int Runs(int argc, char** argv);
int Serve(int argc, char** argv);
// worker: runs jobs from a shared (PostgreSQL) job store; serves nothing.
int Worker(int argc, char** argv);
// submit, jobs, status, logs, cancel, retry, download, sessions: clients of `warden serve`.
int Client(const std::string& verb, int argc, char** argv);
// approve: answers a server job's request for approval.
int Approve(int argc, char** argv);
// chat: a conversation with the agent through a session of `warden serve`.
int Chat(int argc, char** argv);
// upload: local files into a session's workspace.
int Upload(int argc, char** argv);
// mcp: Warden's sandbox as MCP tools over stdio.
int Mcp(int argc, char** argv);
// parse: the tool calls Warden would run from a raw model reply.
int Parse(int argc, char** argv);

struct ServerFlags;  // api_client.h
// Uploads each of `files` into `session` (to `as`, or to its own name at the top of the
// workspace), printing where each went; `verb` names the command in errors. The exit code.
int UploadFiles(const ServerFlags& flags, const std::string& session,
                const std::vector<std::string>& files, const std::string& as, const char* verb);

}  // namespace warden::cli
