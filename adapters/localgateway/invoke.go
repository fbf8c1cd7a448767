package localgateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// internalServerError and timedOut are the messages of API Gateway's answers to a
// route whose integration failed or did not answer within the integration timeout.
const (
	internalServerError = "Internal server error"
	timedOut            = "Endpoint request timed out"
)

// maxInvocation bounds an invocation the gateway no longer waits for (see invoke):
// Lambda's longest function timeout, 15 minutes.
const maxInvocation = 15 * time.Minute

// invoker invokes one Lambda function through the Invoke API, without a signature: the
// Lambda Runtime Interface Emulator's, not AWS's. The Lambda proxy integration and a
// Lambda authorizer each have one, each for a function under an emulator of its own.
//
// Invocations are made one at a time: the emulator runs one at a time, and one that
// arrives while another runs crashes it (aws-lambda-rie's rapidcore.Server.Invoke
// dereferences the nil reservation that Reserve refuses with ErrAlreadyReserved, and
// the process exits with both invocations unanswered), where AWS runs concurrent
// invocations side by side. A function error is read from the emulator's answer as
// well as from AWS's X-Amz-Function-Error header: the emulator answers a handler's
// error 200 with an {"errorMessage", "errorType"} body and no header (which the caller
// reads, as it knows the shape of a good answer: see failureOf), and a panic 502.
type invoker struct {
	url     string
	timeout time.Duration
	client  *http.Client
	// turn is held for the whole of each invocation, one at a time.
	turn chan struct{}
}

func newInvoker(url string, timeout time.Duration) *invoker {
	return &invoker{url: url, timeout: timeout, client: &http.Client{}, turn: make(chan struct{}, 1)}
}

// invokeError is an invocation that failed: answered by API Gateway with status (on
// $connect) and message.
type invokeError struct {
	status  int
	message string
	err     error
}

func (e *invokeError) Error() string { return e.err.Error() }
func (e *invokeError) Unwrap() error { return e.err }

// functionError is the error a function failed with, as the Invoke API reports it:
// {"errorMessage": "...", "errorType": "..."}.
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *functionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// failureOf returns the function error that an emulator's 200 answer body holds, nil
// when it holds none.
func failureOf(body []byte) *functionError {
	var fe functionError
	if json.Unmarshal(body, &fe) != nil || (fe.Message == "" && fe.Type == "") {
		return nil
	}
	return &fe
}

// invoke invokes the function with payload and returns its answer; what names the
// invocation in errors, such as "$connect". It waits for the invocation before it to
// end, then gives the function the timeout: the wait is the gateway's, not the
// function's. It holds its turn until the function has answered, even past the
// timeout: a caller that stops waiting does not stop the function, and the next
// invocation must not reach the emulator while it runs. The client going away cancels
// nothing, as on AWS.
func (in *invoker) invoke(payload []byte, what string) ([]byte, error) {
	in.turn <- struct{}{}
	timer := time.NewTimer(in.timeout)
	defer timer.Stop()
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-in.turn }()
		body, err := in.post(payload)
		done <- result{body, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return nil, fmt.Errorf("invoke %s for %s: %w", in.url, what, res.err)
		}
		return res.body, nil
	case <-timer.C:
		return nil, &invokeError{status: http.StatusGatewayTimeout, message: timedOut,
			err: fmt.Errorf("invoke %s for %s: no answer after %s", in.url, what, in.timeout)}
	}
}

// post makes one invocation and returns the function's answer, or the failure that API
// Gateway answers 500 (Lambda refused the invocation) or 502 (the function failed).
func (in *invoker) post(payload []byte) ([]byte, error) {
	fail := func(status int, err error) ([]byte, error) {
		return nil, &invokeError{status: status, message: internalServerError, err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxInvocation)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, bytes.NewReader(payload))
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fail(http.StatusInternalServerError, fmt.Errorf("read the answer: %w", err))
	}
	switch {
	case resp.StatusCode == http.StatusBadGateway: // the emulator's answer to a runtime that failed
		return fail(http.StatusBadGateway, fmt.Errorf("the function failed: %w", crashOf(body)))
	case resp.StatusCode != http.StatusOK:
		return fail(http.StatusInternalServerError, fmt.Errorf("the Invoke API answered %s: %s", resp.Status, snippet(body)))
	case resp.Header.Get("X-Amz-Function-Error") != "":
		fe := failureOf(body)
		if fe == nil {
			fe = &functionError{Type: resp.Header.Get("X-Amz-Function-Error"), Message: snippet(body)}
		}
		return fail(http.StatusBadGateway, fe)
	}
	return body, nil
}

// crashOf is the function error of a runtime that failed, such as a panic: what its
// answer says, else the answer itself.
func crashOf(body []byte) *functionError {
	if fe := failureOf(body); fe != nil {
		return fe
	}
	return &functionError{Type: "Runtime.ExitError", Message: snippet(body)}
}

// snippet returns the start of a body, for an error message.
func snippet(body []byte) string {
	const max = 300
	if len(body) > max {
		return string(body[:max]) + "..."
	}
	return string(body)
}
