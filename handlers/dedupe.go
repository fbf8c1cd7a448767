package handlers

import "github.com/samber/lo"

// Dedupe removes repeated users and topics from a request, so that a user named twice is
// sent to once. The order of first appearance is kept.
func Dedupe(req Request) Request {
	req.Users = lo.Uniq(req.Users)
	req.Topics = lo.Uniq(req.Topics)
	req.ExcludeUsers = lo.Uniq(req.ExcludeUsers)
	return req
}
