// Package auth decides who may follow which topic: it implements
// handlers.TopicAuthorizer with Rules, and verifies the JWTs that show it (Verifier),
// for subscription tokens and for a $connect authorizer alike.
//
// Rules are tried in this order, and the first that allows a topic wins:
//
//  1. Open: every topic to everyone (TOPICS_OPEN), pusher dev's default.
//  2. Public patterns anyone may follow (TOPICS_PUBLIC), such as news:*.
//  3. User-scoped patterns (TOPICS_USER_SCOPED), such as user:{user}:*, where {user}
//     stands for the connection's own user.
//  4. Grants: the patterns the $connect authorizer put in its context (ParseGrants).
//  5. A signed subscription token sent with the request (TOPIC_TOKEN_*): a JWT whose
//     topics claim lists patterns, for the user named by its sub.
//  6. An HTTP hook (TOPIC_AUTH_HOOK_URL) asked about the topic.
//
// When none allows, the topic is forbidden, with a reason saying what was tried (never
// the token), unless the token's keys could not be fetched or the hook could not
// answer: then it is unavailable, and the client may try again later. With no rule at
// all, and not open, every topic is forbidden but those an authorizer grants
// (Config.HasRules tells the run modes to say so at start).
//
// A pattern's '*' matches any run of characters, none and '/' or ':' included; every
// other character, '?' and '[' too, matches itself. Topics are names chosen by the
// services that publish to them, and a glob's classes would make some of them
// impossible to grant exactly.
package auth
