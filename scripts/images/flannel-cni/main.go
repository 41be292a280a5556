// nkd's flannel CNI plugin: the binary flannel's DaemonSet copies to /opt/cni/bin/flannel in nkd's
// air-gap images (docs/air-gap.md). It implements flannel's documented delegation contract with the
// standard library only: read the subnet flanneld leased to this node (/run/flannel/subnet.env), turn it
// into the configuration of a delegate plugin (bridge with host-local IPAM by default), keep that
// configuration per container for DEL and CHECK, and run the delegate from CNI_PATH.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// The CNI spec versions this plugin accepts: it passes results through from its delegate, so every
// version the delegate understands works.
var supportedVersions = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"}

// cniError is the error object the CNI spec has a plugin print on stdout with a non-zero exit.
type cniError struct {
	CNIVersion string `json:"cniVersion"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

// Codes from the CNI spec's well-known error list.
const (
	errIncompatibleVersion = 1
	errUnsupportedField    = 2
	errInvalidEnv          = 4
	errIO                  = 5
	errDecode              = 6
	errInvalidConfig       = 7
)

type failure struct {
	code uint
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code uint, format string, args ...any) error {
	return &failure{code: code, msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

// run executes one CNI command and returns the exit code; the result or error goes to stdout.
func run(stdin io.Reader, stdout io.Writer) int {
	command := os.Getenv("CNI_COMMAND")
	if command == "VERSION" {
		return printJSON(stdout, map[string]any{"cniVersion": "1.0.0", "supportedVersions": supportedVersions})
	}
	raw, err := io.ReadAll(stdin)
	if err != nil {
		return printError(stdout, "", fail(errIO, "flannel: reading the network configuration: %v", err))
	}
	conf, err := parseNetConf(raw)
	if err != nil {
		return printError(stdout, "", err)
	}
	env, err := readEnv()
	if err != nil {
		return printError(stdout, conf.CNIVersion, err)
	}
	var code int
	switch command {
	case "ADD":
		code, err = add(conf, env, stdout)
	case "DEL":
		code, err = del(conf, env, stdout)
	case "CHECK":
		code, err = check(conf, env, stdout)
	default:
		err = fail(errInvalidEnv, "flannel: unknown CNI_COMMAND %q", command)
	}
	if err != nil {
		return printError(stdout, conf.CNIVersion, err)
	}
	return code
}

func printJSON(w io.Writer, v any) int {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return 1
	}
	return 0
}

func printError(w io.Writer, version string, err error) int {
	e := cniError{CNIVersion: version, Code: errIO, Msg: err.Error()}
	if f, ok := err.(*failure); ok {
		e.Code = f.code
	}
	if e.CNIVersion == "" {
		e.CNIVersion = "1.0.0"
	}
	printJSON(w, e)
	return 1
}
