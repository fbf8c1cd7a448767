// Package handlers holds the stages of the notification pipeline, one file each:
// decode, dedupe, resolve, fanout, post and prune. Beside resolve are the cursors a
// retry resumes it from, among them that of a broadcast split into segment tasks
// (SplitState), which package pipeline records while it puts the tasks on a queue.
//
// A stage is a small type that turns one value into the next. Its dependencies are the
// interfaces declared beside it (a connection store, a gateway), so a stage knows nothing
// of Watermill, AWS or HTTP: package pipeline carries the values between stages and
// package adapters implements the interfaces.
package handlers
