// Package memory holds in-process implementations of the pusher's ports: a connection
// store and a poison queue. They back `pusher dev` and the tests; nothing survives a restart.
package memory
