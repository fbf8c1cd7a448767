package handlers

import "strings"

// ReservedUserPrefix starts the user ids that no client or request may use, as
// ReservedTopicPrefix starts the reserved topics: a store keeps records of its own
// under them (the DynamoDB store keeps a connection without a user under the hash key
// "$anonymous:" and its connection id), and a user id of a client's choosing must not
// reach them.
const ReservedUserPrefix = "$"

// CodeInvalidUser: the user a $connect names is reserved.
const CodeInvalidUser = "invalid_user"

// ValidUser returns a *ClientError of code CodeInvalidUser if user starts with
// ReservedUserPrefix, else nil. An empty user is valid: it is a connection without a
// user, which a $connect accepts only where anonymous connections are allowed.
func ValidUser(user string) error {
	if ReservedUser(user) {
		return Refuse(CodeInvalidUser, "user ids starting with %q are reserved", ReservedUserPrefix)
	}
	return nil
}

// ReservedUser reports whether user starts with ReservedUserPrefix: no client's user,
// so that no users request reaches a connection through it.
func ReservedUser(user string) bool { return strings.HasPrefix(user, ReservedUserPrefix) }
