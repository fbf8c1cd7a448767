package handlers

import "github.com/samber/lo"

// Dedupe removes repeated users from a request, so that a user named twice is sent to
// once. The order of first appearance is kept.
func Dedupe(req Request) Request {
	req.Users = lo.Uniq(req.Users)
	req.ExcludeUsers = lo.Uniq(req.ExcludeUsers)
	return req
}
