package dev_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/browsertest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The console's tests drive `pusher dev`'s page at GET / in a headless Chromium, as a
// user would: they read what the page shows and click its buttons, while real WebSocket
// clients connect from Go. They wait on what the page shows, never for a fixed time.

// consolePatience bounds each wait for the page: on a loaded 2-core machine a browser
// takes a while, but a console that works shows each change within a second.
const consolePatience = 20 * time.Second

// consolePage is the console of a running `pusher dev`, open in a tab.
type consolePage struct {
	t   *testing.T
	tab context.Context
}

// openConsole opens the console of p in a new tab of b, and waits until its event
// stream is open and has said hello.
func openConsole(t *testing.T, b *browsertest.Browser, p *dev.Pusher) *consolePage {
	t.Helper()
	return openConsoleAt(t, b, p.URL())
}

// openConsoleAt is openConsole of the console at base (http://host:port).
func openConsoleAt(t *testing.T, b *browsertest.Browser, base string) *consolePage {
	t.Helper()
	c := &consolePage{t: t, tab: b.Tab(2 * time.Minute)}
	c.do("open the console", chromedp.Navigate(base+"/"))
	c.waitFor("its event stream open", `document.querySelector("#status").dataset.state === "open" && document.querySelector("#ws-url").textContent.startsWith("ws://")`)
	return c
}

// waitFor waits until the JavaScript expression cond is true on the page, failing the
// test with what it waited for and the page's text when it never is.
func (c *consolePage) waitFor(what, cond string) {
	c.t.Helper()
	_, err := chromedp.Run(c.tab, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(consolePatience)))
	if err != nil {
		c.t.Fatalf("the console never showed %s (%v); it shows:\n%s", what, err, c.pageText())
	}
}

// do runs actions on the page, failing the test with what they were for.
func (c *consolePage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.tab, actions...); err != nil {
		c.t.Fatalf("%s: %v; the page shows:\n%s", what, err, c.pageText())
	}
}

// eval returns the value of the JavaScript expression expr on the page.
func eval[T any](c *consolePage, expr string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.tab, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns the text the page shows in the first element of the CSS selector sel,
// "" when there is none.
func (c *consolePage) text(sel string) string {
	c.t.Helper()
	return eval[string](c, fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText.trim()`, jsString(sel)))
}

// count returns how many elements the CSS selector sel matches.
func (c *consolePage) count(sel string) int {
	c.t.Helper()
	return eval[int](c, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)))
}

// typeInto empties the field sel, then types value into it key by key. (chromedp's
// Clear needs a textarea's text node, which typing replaces, and SetValue refuses "".)
func (c *consolePage) typeInto(sel, value string) {
	c.t.Helper()
	c.do("type into "+sel,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel))),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// click clicks the element sel once it is visible.
func (c *consolePage) click(sel string) {
	c.t.Helper()
	c.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// pageText is the text of the page, to tell why a wait failed.
func (c *consolePage) pageText() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.tab), 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// connectionRow is a row of the console's connections table, as shown.
type connectionRow struct {
	ID     string `json:"id"`
	User   string `json:"user"`
	Topics string `json:"topics"`
	Since  string `json:"since"`
}

func (c *consolePage) connectionRows() []connectionRow {
	c.t.Helper()
	return eval[[]connectionRow](c, `[...document.querySelectorAll("#connections tbody tr[data-id]")].map(tr => ({
		id: tr.dataset.id,
		user: tr.querySelector("td.user").innerText.trim(),
		topics: [...tr.querySelectorAll("td.topics .tag")].map(s => s.innerText.trim()).join(","),
		since: tr.querySelector("td.since").innerText.trim(),
	}))`)
}

// postRequest sends body to the intake as a backend does, and returns its message id.
func postRequest(t *testing.T, p *dev.Pusher, body string) string {
	t.Helper()
	resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		MessageID string `json:"message_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send %s: %s (%v)", body, resp.Status, err)
	}
	return out.MessageID
}

// requestShown is the selector of the console's entry of the request id.
func requestShown(id string) string {
	return fmt.Sprintf(`#requests li[data-correlation-id=%s]`, jsString(id))
}

// TestBrowserConsoleListsConnections: a client that connects, with a user and a topic,
// appears in the console's table with them; one that leaves is dropped from it.
func TestBrowserConsoleListsConnections(t *testing.T) {
	p := devWithFlags(t, io.Discard) // as `pusher dev` starts: topics open
	page := openConsole(t, browsertest.New(t), p)
	page.waitFor("an empty table", `document.querySelector("#connections-count").textContent === "0" && !document.querySelector("#connections-empty").hidden`)

	addr := p.Listener.Addr().String()
	alice := gatewaytest.DialQuery(t, addr, "alice", "user_id=alice&topic=order-7")
	gatewaytest.DialQuery(t, addr, "bob", "user_id=bob")
	page.waitFor("two connections", `document.querySelectorAll("#connections tbody tr[data-id]").length === 2`)

	listed := p.Gateway.List()
	if len(listed) != 2 {
		t.Fatalf("the gateway lists %d connections, want 2", len(listed))
	}
	want := []connectionRow{
		{ID: listed[0].ID, User: "alice", Topics: "order-7", Since: "just now"},
		{ID: listed[1].ID, User: "bob", Topics: "", Since: "just now"},
	}
	if got := page.connectionRows(); !slices.Equal(got, want) {
		t.Errorf("the console lists %+v, want %+v", got, want)
	}
	if got := page.text("#connections-count"); got != "2" {
		t.Errorf("the console counts %q connections, want 2", got)
	}
	if !strings.Contains(page.text("#connections tbody"), listed[0].ID) {
		t.Errorf("the table does not show alice's connection id %s", listed[0].ID)
	}

	alice.Close()
	page.waitFor("alice gone", `document.querySelectorAll("#connections tbody tr[data-id]").length === 1`)
	if got := page.connectionRows(); len(got) != 1 || got[0].User != "bob" || got[0].ID != listed[1].ID {
		t.Errorf("after alice left the console lists %+v, want bob's connection alone", got)
	}
	if got := page.text("#connections-count"); got != "1" {
		t.Errorf("the console counts %q connections, want 1", got)
	}
}

// TestBrowserSendFromTheForm: the page's own test client connects as alice, following
// order-7; a request typed into the form reaches it and a Go client of the topic, and
// its outcome appears (2 delivered); data that is not JSON shows an error and sends
// nothing. A request sent by another client shows too, marked as such, and a topic the
// test client subscribes to by message is acknowledged and listed.
func TestBrowserSendFromTheForm(t *testing.T) {
	p := devWithFlags(t, io.Discard) // as `pusher dev` starts: topics open
	addr := p.Listener.Addr().String()
	bob := gatewaytest.DialQuery(t, addr, "bob", "user_id=bob&topic=order-7")
	page := openConsole(t, browsertest.New(t), p)

	page.typeInto("#client-user", "alice")
	page.typeInto("#client-topics", "order-7")
	page.click("#client-connect")
	page.waitFor("the test client connected", `document.querySelector("#client-state").dataset.state === "open"`)
	page.waitFor("alice's connection listed", `document.querySelector("#connections tbody tr[data-user=alice]") !== null`)

	// Not JSON: an error by the field, and nothing sent.
	page.typeInto("#send-topics", "order-7")
	page.typeInto("#send-data", `{"text": "hi`)
	page.click("#send-button")
	page.waitFor("the JSON error", `!document.querySelector("#send-error").hidden`)
	if got := page.text("#send-error"); !strings.Contains(got, "not valid JSON") || !strings.Contains(got, "nothing was sent") {
		t.Errorf("the error says %q", got)
	}

	// Fixed, it goes; the markup in it is shown as text, never run.
	const data = `{"text":"hi from the console <img src=x onerror=\"document.title='run'\">"}`
	page.typeInto("#send-data", data)
	page.waitFor("the error cleared", `document.querySelector("#send-error").hidden`)
	page.click("#send-button")
	sent := `#requests li[data-origin=console]`
	page.waitFor("the request settled", `document.querySelector("#requests li[data-origin=console][data-state=settled]") !== null`)
	if got := page.text(sent + " .delivered"); got != "2 delivered" {
		t.Errorf("the outcome shows %q, want 2 delivered", got)
	}
	if got := page.text(sent + " .connections"); got != "2 connections" {
		t.Errorf("the outcome shows %q, want 2 connections", got)
	}
	if got := page.text(sent + " .req-what"); got != "topics order-7" {
		t.Errorf("the request is described as %q", got)
	}
	if got := bob.Next(t); got != data {
		t.Errorf("bob got %s, want %s", got, data)
	}
	page.waitFor("the frame in the test client", fmt.Sprintf(`[...document.querySelectorAll("#client-frames li[data-kind=data] .body")].some(b => b.textContent === %s)`, jsString(data)))
	if n, title := page.count("#client-frames img"), eval[string](page, "document.title"); n != 0 || title == "run" {
		t.Errorf("the frame's markup was rendered: %d images, title %q", n, title)
	}
	// The request that was not JSON never left the page: one request, the one frame.
	if n := page.count("#requests li"); n != 1 {
		t.Errorf("the console lists %d requests, want the one sent", n)
	}
	if n := page.count("#client-frames li[data-kind=data]"); n != 1 {
		t.Errorf("the test client got %d frames, want 1", n)
	}
	if n := len(p.Poison.Messages()); n != 0 {
		t.Errorf("%d messages parked", n)
	}

	// Subscribed by message: acknowledged, and listed among its topics.
	page.typeInto("#client-topic", "news")
	page.click("#client-subscribe")
	page.waitFor("the ack", `[...document.querySelectorAll("#client-frames li[data-kind=ack] .body")].some(b => b.textContent === '{"type":"subscribed","topic":"news"}')`)
	page.waitFor("news among alice's topics", `[...document.querySelectorAll("#connections tbody tr[data-user=alice] .tag")].map(t => t.textContent).join() === "news,order-7"`)

	// A request from another client: its frame in the log, its outcome marked as another's.
	other := postRequest(t, p, `{"topics":["news"],"data":{"from":"curl"}}`)
	page.waitFor("the other request's frame", `[...document.querySelectorAll("#client-frames li[data-kind=data] .body")].some(b => b.textContent === '{"from":"curl"}')`)
	page.waitFor("the other request's outcome", fmt.Sprintf(`document.querySelector(%s + "[data-origin=other][data-state=settled]") !== null`, jsString(requestShown(other))))
	if got := page.text(requestShown(other) + " .delivered"); got != "1 delivered" {
		t.Errorf("the other request's outcome shows %q, want 1 delivered", got)
	}

	// An error frame is marked as one, and the connection stays.
	page.typeInto("#client-topic", "$reserved")
	page.click("#client-subscribe")
	page.waitFor("the error frame", `[...document.querySelectorAll("#client-frames li[data-kind=error] .body")].some(b => b.textContent.includes('"code":"invalid_topic"'))`)

	page.click("#client-disconnect")
	page.waitFor("the test client gone", `document.querySelector("#client-state").dataset.state === "closed" && document.querySelector("#connections tbody tr[data-user=alice]") === null`)
}

// faultyDev runs `pusher dev`, its poster posting through a faults proxy in front of
// its own Management API, so that a test makes deliveries fail; it retries twice at
// most and has no breaker, so that what fails is parked at once and a replay is posted
// as soon as the faults end.
func faultyDev(t *testing.T) (*dev.Pusher, *awstest.Faults) {
	t.Helper()
	return stacktest.DevWithFaults(t, dev.Config{Pipeline: pipeline.Config{
		Retry:   pipeline.RetryConfig{MaxAttempts: 2, InitialInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
		Breaker: pipeline.BreakerConfig{Disabled: true},
	}}, nil)
}

// TestBrowserReplaysParkedMessages: deliveries to carol fail and are parked; the page
// lists them with their reason and payload (whole, though not ASCII), and its buttons
// replay one (carol, connected before the replay, gets it, and it leaves the list),
// delete another (carol never gets it), and replay the rest, oldest first. A replay that
// fails again says it was parked again, not replayed, for one message and for all.
func TestBrowserReplaysParkedMessages(t *testing.T) {
	p, faults := faultyDev(t)
	carol := connect(t, p, "carol", "carol")
	listed := p.Gateway.List()
	if len(listed) != 1 {
		t.Fatalf("the gateway lists %d connections", len(listed))
	}
	carolID := listed[0].ID
	failCarol := func(id string, _ int) int {
		if id == carolID {
			return http.StatusInternalServerError
		}
		return 0
	}
	faults.Fail(failCarol)
	page := openConsole(t, browsertest.New(t), p)
	for _, n := range []string{"één", "two", "three", "four"} {
		postRequest(t, p, fmt.Sprintf(`{"users":["carol"],"data":{"n":%q}}`, n))
	}
	page.waitFor("four parked messages", `document.querySelectorAll("#poison li[data-uuid]").length === 4 && document.querySelector("#poison-count").textContent === "4"`)
	faults.Fail(nil)

	parked := map[string]string{} // frame → uuid
	for _, m := range p.Poison.Messages() {
		pm := pipeline.ParkedFrom(m)
		if pm.Stage != pipeline.StagePost || pm.UserID != "carol" {
			t.Fatalf("parked %+v, want a delivery to carol", pm)
		}
		parked[pm.Payload] = pm.UUID
	}
	one := fmt.Sprintf(`#poison li[data-uuid=%s]`, jsString(parked[`{"n":"één"}`]))
	two := fmt.Sprintf(`#poison li[data-uuid=%s]`, jsString(parked[`{"n":"two"}`]))
	three := fmt.Sprintf(`#poison li[data-uuid=%s]`, jsString(parked[`{"n":"three"}`]))
	if got := page.text(one + " .msg-reason"); !strings.Contains(got, "500") {
		t.Errorf("the reason shown is %q, want the gateway's 500", got)
	}
	if got := page.text(one + " .msg-meta"); !strings.Contains(got, "attempts 2") || !strings.Contains(got, "user carol") || !strings.Contains(got, carolID) {
		t.Errorf("the details shown are %q, want 2 attempts, the user and the connection", got)
	}
	page.click(one + " summary")
	// Whole: 13 bytes, of which 11 UTF-16 units in JavaScript.
	if got := page.text(one + " pre"); got != `{"n":"één"}` {
		t.Errorf("the payload shown is %q, want it whole", got)
	}
	if got := page.text(one + " summary"); got != "payload (13 bytes)" {
		t.Errorf("the payload is summed up as %q", got)
	}

	page.click(one + " button.replay")
	if got := carol.Next(t); got != `{"n":"één"}` {
		t.Fatalf("after the replay carol got %s", got)
	}
	page.waitFor("the replayed message gone", fmt.Sprintf(`document.querySelector(%s) === null && document.querySelector("#poison-count").textContent === "3"`, jsString(one)))
	// The list and the replay's answer arrive apart: the answer is waited for too.
	page.waitFor("the replay's result", `document.querySelector("#poison-result").textContent.includes("replayed: delivered 1") && document.querySelector("#poison-result").dataset.outcome === "ok"`)

	page.click(two + " button.delete")
	page.waitFor("the deleted message gone", fmt.Sprintf(`document.querySelector(%s) === null && document.querySelector("#poison-count").textContent === "2"`, jsString(two)))
	page.waitFor("the delete's result", `document.querySelector("#poison-result").textContent.includes("deleted")`)

	// Replayed while carol's posts still fail: parked again, as a new message.
	faults.Fail(failCarol)
	page.click(three + " button.replay")
	page.waitFor("the replay's result: parked again", `document.querySelector("#poison-result").textContent.includes("parked again: delivered 0, failed 1") && document.querySelector("#poison-result").dataset.outcome === "parked"`)
	page.waitFor("three parked again", fmt.Sprintf(`document.querySelector(%s) === null && document.querySelectorAll("#poison li[data-uuid]").length === 2`, jsString(three)))
	page.click("#poison-replay-all")
	page.waitFor("the result of replay all: parked again", `document.querySelector("#poison-result").textContent === "2 messages parked again" && document.querySelector("#poison-result").dataset.outcome === "parked"`)
	if n := len(p.Poison.Messages()); n != 2 {
		t.Errorf("%d messages parked after a replay of all that failed, want 2", n)
	}

	faults.Fail(nil)
	page.click("#poison-replay-all")
	page.waitFor("an empty poison queue", `document.querySelectorAll("#poison li[data-uuid]").length === 0 && !document.querySelector("#poison-empty").hidden`)
	page.waitFor("the result of replay all", `document.querySelector("#poison-result").textContent === "replayed 2 messages" && document.querySelector("#poison-result").dataset.outcome === "ok"`)
	// Oldest first: four was parked again before three, at the replay of all.
	got := []string{carol.Next(t), carol.Next(t)}
	if want := []string{`{"n":"four"}`, `{"n":"three"}`}; !slices.Equal(got, want) {
		t.Errorf("replay all gave carol %v, want %v, the oldest first", got, want)
	}
	// The deleted one is gone for good: the next frame carol gets is a new request.
	postRequest(t, p, `{"users":["carol"],"data":"after"}`)
	if got := carol.Next(t); got != `"after"` {
		t.Errorf("carol got %s, want the request after the replays", got)
	}
	if n := len(p.Poison.Messages()); n != 0 {
		t.Errorf("%d messages still parked", n)
	}
}

// relay is an HTTP proxy in front of a `pusher dev`, for the console to reach it through
// a connection a test can cut, and to stand for a `pusher dev` restarted at the same
// address: the test then points it at another.
type relay struct {
	*httptest.Server
	target atomic.Pointer[url.URL]
}

func newRelay(t *testing.T, to string) *relay {
	t.Helper()
	r := &relay{}
	r.to(t, to)
	// The Host is the relay's, the browser's Origin: the pusher's Guard compares them.
	// (ReverseProxy flushes an event stream at each write.)
	r.Server = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(r.target.Load())
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(r.Close)
	return r
}

// to points the relay at the pusher at base (http://host:port).
func (r *relay) to(t *testing.T, base string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r.target.Store(u)
}

// TestBrowserRequestsAfterReconnect: when the page's event stream reconnects, the
// requests listed are those the stream sends again, each with its label (this page or
// another source); once `pusher dev` restarted, the previous run's requests are gone.
func TestBrowserRequestsAfterReconnect(t *testing.T) {
	first := buildDev(t, dev.Config{})
	stopFirst := run(t, first)
	r := newRelay(t, first.URL())
	page := openConsoleAt(t, browsertest.New(t), r.URL)

	page.typeInto("#send-users", "nobody")
	page.typeInto("#send-data", `{"from":"the page"}`)
	page.click("#send-button")
	page.waitFor("the page's request settled", `document.querySelector("#requests li[data-origin=console][data-state=settled]") !== null`)
	other := postRequest(t, first, `{"data":{"from":"curl"}}`)
	page.waitFor("the other request settled", fmt.Sprintf(`document.querySelector(%s + "[data-origin=other][data-state=settled]") !== null`, jsString(requestShown(other))))

	// reconnected waits for the stream to drop, then to be open again.
	reconnected := func(what string) {
		t.Helper()
		page.waitFor(what+": the stream dropped", `document.querySelector("#status").dataset.state === "closed"`)
		page.waitFor(what+": the stream open again", `document.querySelector("#status").dataset.state === "open"`)
	}
	r.CloseClientConnections()
	reconnected("a connection cut")
	page.waitFor("both requests again, with their labels", fmt.Sprintf(`document.querySelectorAll("#requests li").length === 2 &&
		document.querySelector("#requests li[data-origin=console][data-state=settled]") !== null &&
		document.querySelector(%s + "[data-origin=other][data-state=settled]") !== null`, jsString(requestShown(other))))

	// pusher dev restarted: another one behind the relay, the first stopped.
	second := startDev(t, dev.Config{})
	r.to(t, second.URL())
	if err := stopFirst(); err != nil {
		t.Fatalf("the first pusher dev stopped with %v", err)
	}
	reconnected("pusher dev restarted")
	page.waitFor("no request of the first run", `document.querySelectorAll("#requests li").length === 0 && !document.querySelector("#requests-empty").hidden`)
	after := postRequest(t, second, `{"data":{"from":"curl, after"}}`)
	page.waitFor("the second run's request", fmt.Sprintf(`document.querySelector(%s + "[data-state=settled]") !== null && document.querySelectorAll("#requests li").length === 1`, jsString(requestShown(after))))
}

// TestBrowserRefusesOtherSites: a page of another origin (another port of 127.0.0.1)
// that POSTs to the intake with fetch in no-cors mode, and with a classic form, gets
// nothing admitted: no frame reaches a client, and the console lists no request. The
// console, its event stream and the poison listing reached through another name of
// 127.0.0.1 (DNS rebinding: evil.test mapped to 127.0.0.1) are refused, with the
// address to open.
func TestBrowserRefusesOtherSites(t *testing.T) {
	p := devWithFlags(t, io.Discard) // as `pusher dev` starts: topics open
	alice := connect(t, p, "alice", "alice")
	b := browsertest.New(t)
	console := openConsole(t, b, p)

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The form's text/plain body is name=value: {"data":{"evil":"form"},"x":"="}, JSON.
		fmt.Fprintf(w, `<!doctype html><title>another site</title>
<form id="f" method="post" action=%[1]s enctype="text/plain"><input name='{"data":{"evil":"form"},"x":"' value='"}'></form>
<p id="out"></p>
<script>
fetch(%[1]s, {method: "POST", mode: "no-cors", body: JSON.stringify({data: {evil: "fetch"}})})
  .then(() => { document.getElementById("out").textContent = "fetch answered"; },
        (e) => { document.getElementById("out").textContent = "fetch failed: " + e; });
</script>`, jsString(p.URL()+"/notifications"))
	}))
	t.Cleanup(evil.Close)

	attacker := &consolePage{t: t, tab: b.Tab(time.Minute)}
	attacker.do("open the other site's page", chromedp.Navigate(evil.URL))
	attacker.waitFor("its fetch answered", `document.getElementById("out").textContent !== ""`)
	resp, err := chromedp.RunResponse(attacker.tab, chromedp.Submit(chromedp.CSS("#f input")))
	if err != nil {
		t.Fatalf("submit the other site's form: %v", err)
	}
	if resp.Status != http.StatusForbidden {
		t.Errorf("the form's POST was answered %d, want 403", resp.Status)
	}
	if got := attacker.text("body"); !strings.Contains(got, "cross-origin request refused") {
		t.Errorf("the browser shows %q after the form's POST", got)
	}

	// Nothing was admitted: the first frame alice gets, and the one request the console
	// lists, are the marker's sent after the attempts.
	marker := postRequest(t, p, `{"data":"marker"}`)
	if got := alice.Next(t); got != `"marker"` {
		t.Errorf("alice got %s first, want the marker", got)
	}
	console.waitFor("the marker settled", fmt.Sprintf(`document.querySelector(%s + "[data-state=settled]") !== null`, jsString(requestShown(marker))))
	if n := console.count("#requests li"); n != 1 {
		t.Errorf("the console lists %d requests, want the marker alone:\n%s", n, console.text("#requests"))
	}
	if n := len(p.Poison.Messages()); n != 0 {
		t.Errorf("%d messages parked, want none", n)
	}

	// DNS rebinding: evil.test resolves to the pusher's own address.
	_, port, err := net.SplitHostPort(p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rebound := browsertest.New(t, chromedp.Flag("host-resolver-rules", "MAP evil.test 127.0.0.1"))
	tab := &consolePage{t: t, tab: rebound.Tab(time.Minute)}
	for _, path := range []string{"/", "/console/events", "/poison"} {
		resp, err := chromedp.Run(tab.tab, chromedp.NavigateResponse("http://evil.test:"+port+path))
		if err != nil {
			t.Fatalf("open http://evil.test:%s%s: %v", port, path, err)
		}
		if resp.Status != http.StatusForbidden {
			t.Errorf("http://evil.test:%s%s was answered %d, want 403", port, path, resp.Status)
		}
		if got, want := tab.text("body"), "open "+p.URL()+"/"; !strings.Contains(got, want) {
			t.Errorf("http://evil.test:%s%s shows %q, want it to say %q", port, path, got, want)
		}
	}
}

// TestBrowserScreenshot takes the picture of the console that the README shows
// (docs/console.png with BROWSERTEST_SCREENSHOTS=1): a few connections, one without a
// user, requests sent from the form and by others, the test client's frames, a parked
// message and a chart of some seconds of traffic.
func TestBrowserScreenshot(t *testing.T) {
	p := devWithFlags(t, io.Discard, "--anonymous-connections")
	addr := p.Listener.Addr().String()
	gatewaytest.DialQuery(t, addr, "alice's laptop", "user_id=alice&topic=order-7")
	gatewaytest.DialQuery(t, addr, "alice's phone", "user_id=alice")
	gatewaytest.DialQuery(t, addr, "bob", "user_id=bob&topic=order-7&topic=news")
	gatewaytest.DialQuery(t, addr, "a vehicle's page", "topic=vehicle-42")

	page := openConsole(t, browsertest.New(t), p)
	// Some seconds of uneven traffic for the chart, which draws the pipeline's own
	// per-second samples: a burst, then the next once the page has the sample after it.
	samples := func() int {
		return eval[int](page, `Number(document.querySelector("#chart-deliveries").dataset.samples)`)
	}
	for i := range 12 {
		for range 2 + 3*(i%4) {
			postRequest(t, p, fmt.Sprintf(`{"data":{"tick":%d}}`, i))
		}
		page.waitFor("the next second's sample", fmt.Sprintf(`Number(document.querySelector("#chart-deliveries").dataset.samples) > %d`, samples()))
	}
	postRequest(t, p, `{"topics":["vehicle-42"],"data":{"lat":48.85,"lon":2.35}}`)
	if resp := send(t, p, `{"users":["bob"],"data":`); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a body that is not JSON was answered %d", resp.StatusCode)
	}

	page.typeInto("#client-user", "carol")
	page.typeInto("#client-topics", "news")
	page.click("#client-connect")
	page.waitFor("the test client connected", `document.querySelector("#client-state").dataset.state === "open"`)
	page.typeInto("#client-topic", "order-7")
	page.click("#client-subscribe")
	page.waitFor("the ack", `document.querySelector("#client-frames li[data-kind=ack]") !== null`)

	for _, form := range []struct{ users, topics, data string }{
		{users: "alice", data: `{"text": "your order shipped"}`},
		{topics: "order-7, news", data: `{"status": "shipped", "order": 7}`},
	} {
		page.typeInto("#send-users", form.users)
		page.typeInto("#send-topics", form.topics)
		page.typeInto("#send-data", form.data)
		page.click("#send-button")
	}
	page.waitFor("both requests settled", `document.querySelectorAll("#requests li[data-origin=console][data-state=settled]").length === 2`)
	page.waitFor("the frames in the test client", `document.querySelectorAll("#client-frames li[data-kind=data]").length === 1`)
	page.waitFor("the connections", `document.querySelector("#connections-count").textContent === "5"`)
	page.waitFor("the parked message", `document.querySelectorAll("#poison li[data-uuid]").length === 1`)
	page.waitFor("a chart of the traffic", `Number(document.querySelector("#chart-deliveries").dataset.samples) >= 6 && Number(document.querySelector("#chart-deliveries").dataset.delivered) > 0`)
	page.click("#poison li[data-uuid] summary")
	if got := page.text("#connections tbody tr[data-user=''] td.user"); got != "—" {
		t.Errorf("the connection without a user shows %q, want —", got)
	}

	path := browsertest.Screenshot(t, page.tab, "console.png")
	png, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("the screenshot %s is no PNG (%v)", path, err)
	}
	if len(png) > 300<<10 {
		t.Errorf("the screenshot is %d KiB, want under 300", len(png)>>10)
	}
	t.Logf("screenshot %s: %d KiB", path, len(png)>>10)
}

// TestBrowserTestClientWithToken: with $connect tokens checked, under a parameter of the
// operator's naming (--connect-token-param auth), the page's test client asks for a
// token instead of a user, connects with it as the token's user, and never shows the
// token in its log; a request to that user reaches it.
func TestBrowserTestClientWithToken(t *testing.T) {
	p := devWithFlags(t, io.Discard, "--connect-token-secret", connectSecret, "--connect-token-param", "auth")
	page := openConsole(t, browsertest.New(t), p)
	page.waitFor("a token field instead of a user", `!document.querySelector("#client-token-label").hidden && document.querySelector("#client-user-label").hidden`)

	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(connectSecret))
	if err != nil {
		t.Fatal(err)
	}
	page.typeInto("#client-token", token)
	page.click("#client-connect")
	page.waitFor("the test client connected", `document.querySelector("#client-state").dataset.state === "open"`)
	page.waitFor("alice's connection listed", `document.querySelector("#connections tbody tr[data-user=alice]") !== null`)
	if log := page.text("#client-frames"); strings.Contains(log, token) || strings.Contains(log, token[len(token)-16:]) {
		t.Errorf("the test client's log shows the token: %s", log)
	}

	postRequest(t, p, `{"users":["alice"],"data":{"hello":"alice"}}`)
	page.waitFor("alice's frame", `document.querySelector("#client-frames").innerText.includes('{"hello":"alice"}')`)
}
