package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// add completes the delegate's configuration from the lease, keeps it for DEL and CHECK (the lease
// file may be gone or different by then), and runs the delegate.
func add(conf *netConf, env *cniEnv, stdout io.Writer) (int, error) {
	lease, err := readSubnetEnv(conf.SubnetFile)
	if err != nil {
		return 0, err
	}
	d := delegateConf(conf, lease)
	raw, err := json.Marshal(d)
	if err != nil {
		return 0, fail(errDecode, "flannel: encoding the delegate configuration: %v", err)
	}
	// Kept even when the delegate fails: the runtime's DEL after a failed ADD then frees what the
	// delegate got part of the way to (an address, a veth).
	if err := saveConf(conf.DataDir, env.containerID, raw); err != nil {
		return 0, err
	}
	return execDelegate(d["type"], raw, env, stdout)
}

// del runs the delegate with the configuration ADD kept, then forgets it. A container this plugin
// never set up (or already tore down) is not an error: DEL must be safe to repeat.
func del(conf *netConf, env *cniEnv, stdout io.Writer) (int, error) {
	d, err := loadConf(conf.DataDir, env.containerID)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	code, err := runWithPrevResult(d, conf, env, stdout)
	if err == nil && code == 0 {
		if err := os.Remove(confPath(conf.DataDir, env.containerID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fail(errIO, "flannel: %v", err)
		}
	}
	return code, err
}

// check asks the delegate whether the container is still as ADD left it.
func check(conf *netConf, env *cniEnv, stdout io.Writer) (int, error) {
	d, err := loadConf(conf.DataDir, env.containerID)
	if err != nil {
		return 0, fail(errIO, "flannel: no configuration kept for container %s: %v", env.containerID, err)
	}
	return runWithPrevResult(d, conf, env, stdout)
}

// The runtime hands DEL and CHECK the result of ADD; the delegate needs it, not this plugin.
func runWithPrevResult(d map[string]any, conf *netConf, env *cniEnv, stdout io.Writer) (int, error) {
	if len(conf.PrevResult) > 0 {
		d["prevResult"] = conf.PrevResult
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return 0, fail(errDecode, "flannel: encoding the delegate configuration: %v", err)
	}
	return execDelegate(d["type"], raw, env, stdout)
}

func confPath(dataDir, containerID string) string {
	return filepath.Join(dataDir, containerID)
}

func saveConf(dataDir, containerID string, raw []byte) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fail(errIO, "flannel: %v", err)
	}
	// Written whole or not at all: a crash mid-write must not leave a file DEL cannot read.
	tmp, err := os.CreateTemp(dataDir, "."+containerID+".*")
	if err != nil {
		return fail(errIO, "flannel: %v", err)
	}
	_, werr := tmp.Write(raw)
	cerr := tmp.Close()
	if werr == nil && cerr == nil {
		werr = os.Rename(tmp.Name(), confPath(dataDir, containerID))
	}
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fail(errIO, "flannel: keeping the delegate configuration: %v", errors.Join(werr, cerr))
	}
	return nil
}

func loadConf(dataDir, containerID string) (map[string]any, error) {
	raw, err := os.ReadFile(confPath(dataDir, containerID))
	if err != nil {
		return nil, err
	}
	d := map[string]any{}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fail(errDecode, "flannel: %s: %v", confPath(dataDir, containerID), err)
	}
	return d, nil
}

// execDelegate runs the delegate plugin found in CNI_PATH with the configuration on stdin and this
// process's environment (CNI_COMMAND, CNI_NETNS, CNI_IFNAME, ... as the runtime set them). Its
// stdout, a result or a CNI error, and its exit code become this plugin's.
func execDelegate(kind any, raw []byte, env *cniEnv, stdout io.Writer) (int, error) {
	name, ok := kind.(string)
	if !ok || name == "" || filepath.Base(name) != name {
		return 0, fail(errInvalidConfig, "flannel: the delegate's type %v is not a plugin name", kind)
	}
	binary := ""
	for _, dir := range env.path {
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			binary = candidate
			break
		}
	}
	if binary == "" {
		return 0, fail(errInvalidEnv, "flannel: the delegate plugin %q is not in CNI_PATH %v", name, env.path)
	}
	var out bytes.Buffer
	cmd := exec.Command(binary)
	cmd.Stdin = bytes.NewReader(raw)
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if _, werr := stdout.Write(out.Bytes()); werr != nil {
		return 1, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if out.Len() == 0 {
			return 0, fail(errIO, "flannel: the delegate %s failed: %v", binary, err)
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fail(errIO, "flannel: running the delegate %s: %v", binary, err)
	}
	return 0, nil
}
