package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
)

const (
	defaultSubnetFile = "/run/flannel/subnet.env"
	defaultDataDir    = "/var/lib/cni/flannel"
	defaultDelegate   = "bridge"
)

// netConf is the part of the network configuration this plugin reads. The delegate map is the
// user's starting point for the delegate's configuration (hairpinMode, isDefaultGateway, ipam.dataDir, ...).
type netConf struct {
	CNIVersion string          `json:"cniVersion"`
	Name       string          `json:"name"`
	SubnetFile string          `json:"subnetFile"`
	DataDir    string          `json:"dataDir"`
	Delegate   map[string]any  `json:"delegate"`
	PrevResult json.RawMessage `json:"prevResult,omitempty"`
}

func parseNetConf(raw []byte) (*netConf, error) {
	conf := &netConf{}
	if err := json.Unmarshal(raw, conf); err != nil {
		return nil, fail(errDecode, "flannel: the network configuration is not valid JSON: %v", err)
	}
	if conf.Name == "" {
		return nil, fail(errInvalidConfig, "flannel: the network configuration has no name")
	}
	if conf.CNIVersion == "" {
		conf.CNIVersion = "0.1.0" // what the CNI spec assumes when a configuration names none
	}
	if !contains(supportedVersions, conf.CNIVersion) {
		return nil, fail(errIncompatibleVersion, "flannel: CNI version %s is not supported (%s)",
			conf.CNIVersion, strings.Join(supportedVersions, ", "))
	}
	if conf.SubnetFile == "" {
		conf.SubnetFile = defaultSubnetFile
	}
	if conf.DataDir == "" {
		conf.DataDir = defaultDataDir
	}
	if conf.Delegate == nil {
		conf.Delegate = map[string]any{}
	}
	return conf, nil
}

// subnetEnv is what flanneld writes for this node: the whole pod network, the node's lease of it, the
// MTU of the overlay, and whether flanneld itself masquerades traffic leaving the network.
type subnetEnv struct {
	network     *net.IPNet
	subnet      *net.IPNet
	ipv6Network *net.IPNet
	ipv6Subnet  *net.IPNet
	// The address the lease names (flanneld's: the subnet's first), the pods' gateway.
	gateway     net.IP
	ipv6Gateway net.IP
	mtu         int
	ipMasq      bool
}

func readSubnetEnv(path string) (*subnetEnv, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(errIO, "flannel: %v (is flanneld running on this node?)", err)
	}
	return parseSubnetEnv(path, raw)
}

func parseSubnetEnv(path string, raw []byte) (*subnetEnv, error) {
	vars := map[string]string{}
	lines := bufio.NewScanner(bytes.NewReader(raw))
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fail(errInvalidConfig, "flannel: %s: %q is not KEY=VALUE", path, line)
		}
		vars[strings.TrimSpace(key)] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	env := &subnetEnv{}
	var err error
	cidr := func(key string) (net.IP, *net.IPNet) {
		if err != nil || vars[key] == "" {
			return nil, nil
		}
		// The lease names the node's gateway address (10.244.1.1/24); IPAM wants the network (10.244.1.0/24).
		ip, n, parseErr := net.ParseCIDR(vars[key])
		if parseErr != nil {
			err = fail(errInvalidConfig, "flannel: %s: %s=%q is not an address/prefix", path, key, vars[key])
		}
		return ip, n
	}
	_, env.network = cidr("FLANNEL_NETWORK")
	env.gateway, env.subnet = cidr("FLANNEL_SUBNET")
	_, env.ipv6Network = cidr("FLANNEL_IPV6_NETWORK")
	env.ipv6Gateway, env.ipv6Subnet = cidr("FLANNEL_IPV6_SUBNET")
	if err != nil {
		return nil, err
	}
	if (env.network == nil) != (env.subnet == nil) || (env.ipv6Network == nil) != (env.ipv6Subnet == nil) {
		return nil, fail(errInvalidConfig, "flannel: %s names a network without its subnet, or the reverse", path)
	}
	if env.subnet == nil && env.ipv6Subnet == nil {
		return nil, fail(errInvalidConfig, "flannel: %s has neither FLANNEL_SUBNET nor FLANNEL_IPV6_SUBNET", path)
	}
	if v := vars["FLANNEL_MTU"]; v != "" {
		if env.mtu, err = strconv.Atoi(v); err != nil || env.mtu <= 0 {
			return nil, fail(errInvalidConfig, "flannel: %s: FLANNEL_MTU=%q is not a positive number", path, v)
		}
	}
	if v := vars["FLANNEL_IPMASQ"]; v != "" {
		if env.ipMasq, err = strconv.ParseBool(v); err != nil {
			return nil, fail(errInvalidConfig, "flannel: %s: FLANNEL_IPMASQ=%q is not true or false", path, v)
		}
	}
	return env, nil
}

// delegateConf is the delegate's network configuration: the user's delegate map, completed from the
// lease. What the user set explicitly wins, except the addresses, which are always the lease's.
func delegateConf(conf *netConf, env *subnetEnv) map[string]any {
	d := make(map[string]any, len(conf.Delegate)+6)
	for k, v := range conf.Delegate {
		d[k] = v
	}
	if _, set := d["type"]; !set {
		d["type"] = defaultDelegate
	}
	d["name"] = conf.Name
	d["cniVersion"] = conf.CNIVersion
	if d["type"] == "bridge" {
		// flanneld masquerades already when it runs with --ip-masq; the bridge must not do it twice.
		setDefault(d, "ipMasq", !env.ipMasq)
		// The bridge holds the lease's gateway address: pods route to other nodes through it.
		setDefault(d, "isGateway", true)
	}
	if env.mtu > 0 {
		setDefault(d, "mtu", env.mtu)
	}
	ipam := map[string]any{}
	if user, ok := d["ipam"].(map[string]any); ok {
		for k, v := range user {
			ipam[k] = v
		}
	}
	setDefault(ipam, "type", "host-local")
	ranges := []any{}
	routes := []any{}
	if existing, ok := ipam["routes"].([]any); ok {
		routes = append(routes, existing...)
	}
	families := []struct {
		subnet, network *net.IPNet
		gateway         net.IP
	}{{env.subnet, env.network, env.gateway}, {env.ipv6Subnet, env.ipv6Network, env.ipv6Gateway}}
	for _, f := range families {
		if f.subnet == nil {
			continue
		}
		r := map[string]any{"subnet": f.subnet.String()}
		route := map[string]any{"dst": f.network.String()}
		// The gateway is named, not left to IPAM's choice: the route the delegate installs then reads
		// back the same in CHECK (a route without a gateway is installed with one).
		if !f.gateway.Equal(f.subnet.IP) {
			r["gateway"] = f.gateway.String()
			route["gw"] = f.gateway.String()
		}
		ranges = append(ranges, []any{r})
		routes = append(routes, route)
	}
	ipam["ranges"] = ranges
	ipam["routes"] = routes
	d["ipam"] = ipam
	return d
}

func setDefault(m map[string]any, key string, value any) {
	if _, set := m[key]; !set {
		m[key] = value
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cniEnv is the part of the runtime's environment this plugin itself needs; the delegate gets all of it.
type cniEnv struct {
	containerID string
	path        []string
}

// A container ID names a file under the data directory: nothing that could leave it.
var containerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)

func readEnv() (*cniEnv, error) {
	env := &cniEnv{containerID: os.Getenv("CNI_CONTAINERID")}
	if !containerIDPattern.MatchString(env.containerID) {
		return nil, fail(errInvalidEnv, "flannel: CNI_CONTAINERID %q is missing or not a container ID", env.containerID)
	}
	for _, dir := range strings.Split(os.Getenv("CNI_PATH"), string(os.PathListSeparator)) {
		if dir != "" {
			env.path = append(env.path, dir)
		}
	}
	if len(env.path) == 0 {
		return nil, fail(errInvalidEnv, "flannel: CNI_PATH is empty: the delegate plugin cannot be found")
	}
	return env, nil
}
