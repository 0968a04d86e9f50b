package cloudhsm

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
)

var (
	clusterIDPattern      = wire.Pattern(`cluster-[2-7a-zA-Z]{11,16}`)
	hsmIDPattern          = wire.Pattern(`hsm-[2-7a-zA-Z]{11,16}`)
	backupIDPattern       = wire.Pattern(`^(arn:aws(-(us-gov))?:cloudhsm:([a-z]{2}(-(gov|isob|iso))?-(east|west|north|south|central){1,2}-[0-9]{1}):[0-9]{12}:backup/)?backup-[2-7a-zA-Z]{11,16}`)
	subnetIDPattern       = wire.Pattern(`subnet-[0-9a-fA-F]{8,17}`)
	azPattern             = wire.Pattern(`[a-z]{2}(-(gov))?-(east|west|north|south|central){1,2}-\d[a-z]`)
	hsmTypePattern        = wire.Pattern(`((p|)hsm[0-9][a-z.]*\.[a-zA-Z]+)`)
	ipPattern             = wire.Pattern(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	eniIDPattern          = wire.Pattern(`eni-[0-9a-fA-F]{8,17}`)
	certPattern           = wire.Pattern(`[a-zA-Z0-9+-/=\s]*`)
	nextTokenPattern      = wire.Pattern(`.*`)
	retentionValuePattern = wire.Pattern(`[0-9]+`)
)

// hsmTypes are the HSM types a cluster can be created with.
var hsmTypes = map[string]bool{"hsm1.medium": true, "hsm2m.medium": true}

func invalidRequest(format string, args ...any) error {
	return wire.Errorf("CloudHsmInvalidRequestException", format, args...)
}

func notFound(format string, args ...any) error {
	return wire.Errorf("CloudHsmResourceNotFoundException", format, args...)
}

// APIOperations are the CloudHSM v2 operations [Sim.Invoke] serves.
var APIOperations = []string{"CreateCluster", "DescribeClusters", "InitializeCluster", "CreateHsm",
	"DeleteHsm", "DeleteCluster", "DescribeBackups"}

// Invoke serves one CloudHSM v2 API operation or simulator operation with
// a JSON body, returning the value to encode as the response. Errors are
// *wire.Error values; a body that is not JSON gives a non-wire error that
// the caller reports as SerializationException.
func (s *Sim) Invoke(now time.Time, op string, body []byte, decode func([]byte, any) error) (any, error) {
	switch op {
	case "CreateCluster":
		var in createClusterInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.createCluster(now, in)
	case "DescribeClusters":
		var in describeInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.describeClusters(in)
	case "InitializeCluster":
		var in initializeInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.initializeCluster(now, in)
	case "CreateHsm":
		var in createHsmInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.createHsm(now, in)
	case "DeleteHsm":
		var in deleteHsmInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.deleteHsm(now, in)
	case "DeleteCluster":
		var in clusterIDInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.deleteCluster(now, in)
	case "DescribeBackups":
		var in describeInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.describeBackups(in)
	}
	if fn, ok := simulatorOps[op]; ok {
		return fn(s, now, body, decode)
	}
	return nil, errors.New("cloudhsm: unknown operation " + op)
}

type createClusterInput struct {
	HsmType        *string
	SubnetIds      []string
	SourceBackupId *string
	NetworkType    *string
	Mode           *string
	TagList        []Tag
	// BackupRetentionPolicy is recorded and reported; backups never expire here.
	BackupRetentionPolicy *RetentionPolicy
}

func (s *Sim) createCluster(now time.Time, in createClusterInput) (any, error) {
	var v wire.Validator
	v.Required("hsmType", in.HsmType != nil)
	v.String("hsmType", in.HsmType, 0, 32, hsmTypePattern, false)
	v.Required("subnetIds", in.SubnetIds != nil)
	v.List("subnetIds", in.SubnetIds, 1, 10)
	for _, id := range in.SubnetIds {
		v.String("subnetIds.member", &id, 0, 1<<20, subnetIDPattern, false)
	}
	v.String("sourceBackupId", in.SourceBackupId, 0, 1<<20, backupIDPattern, false)
	v.Enum("networkType", in.NetworkType, "IPV4", "DUALSTACK")
	v.Enum("mode", in.Mode, "FIPS", "NON_FIPS")
	retention := RetentionPolicy{Type: "DAYS", Value: "90"}
	if p := in.BackupRetentionPolicy; p != nil {
		v.Enum("backupRetentionPolicy.type", &p.Type, "DAYS")
		v.String("backupRetentionPolicy.value", &p.Value, 1, 3, retentionValuePattern, false)
		if n, err := strconv.Atoi(p.Value); err == nil && (n < 7 || n > 379) {
			v.Custom("backupRetentionPolicy.value", &p.Value, "Member must be a number of days from 7 to 379")
		}
		retention = *p
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !hsmTypes[*in.HsmType] {
		return nil, invalidRequest("HSM type %s is not supported; use hsm1.medium or hsm2m.medium", *in.HsmType)
	}
	if in.NetworkType != nil && *in.NetworkType == "DUALSTACK" {
		return nil, invalidRequest("Keystore Lab clusters support only the IPV4 network type")
	}
	var src *Backup
	if in.SourceBackupId != nil {
		id := *in.SourceBackupId
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
		for _, b := range s.st.Backups {
			if b.ID == id {
				src = b
			}
		}
		if src == nil {
			return nil, notFound("Backup %s not found", id)
		}
	}
	mapping, vpc, err := s.ensureSubnets(in.SubnetIds)
	if err != nil {
		return nil, err
	}
	c := &Cluster{ID: "cluster-" + s.base32(11), State: StateCreateInProgress, Until: now.Add(clusterCreateTime),
		HsmType: *in.HsmType, Mode: "FIPS", Created: now, VpcID: vpc, SubnetMapping: mapping,
		HSMs: []*HSM{}, Users: []*User{}, Tags: in.TagList, Retention: retention}
	if in.Mode != nil {
		c.Mode = *in.Mode
	}
	if src != nil {
		c.SourceBackupID = src.ID
		c.PKI = src.PKI
		c.HsmType, c.Mode = src.HsmType, src.Mode
		for _, u := range src.Users {
			cp := *u
			c.Users = append(c.Users, &cp)
		}
		c.Keys = copyKeys(src.Keys)
		for _, k := range c.Keys {
			c.NextHandle = max(c.NextHandle, k.Handle)
		}
	}
	sg := &SecurityGroup{ID: "sg-" + s.hex(17), Name: "cloudhsm-" + c.ID + "-sg", VpcID: vpc,
		Description: "Security group for CloudHSM cluster " + c.ID, Inbound: true, Outbound: true}
	s.st.SecurityGroups = append(s.st.SecurityGroups, sg)
	c.SecurityGroup = sg.ID
	s.st.Clusters = append(s.st.Clusters, c)
	return map[string]any{"Cluster": s.view(c)}, nil
}

type describeInput struct {
	Filters       map[string][]string
	NextToken     *string
	MaxResults    *int64
	SortAscending *bool
	Shared        *bool
}

// page applies NextToken/MaxResults to n items, returning the window and
// the next token (empty on the last page).
func page(n int, token *string, max *int64, limit int64) (lo, hi int, next string, err error) {
	if token != nil {
		i, perr := strconv.Atoi(*token)
		if perr != nil || i < 0 || i > n {
			return 0, 0, "", invalidRequest("The NextToken value is not valid")
		}
		lo = i
	}
	size := int(limit)
	if max != nil {
		size = int(*max)
	}
	hi = min(lo+size, n)
	if hi < n {
		next = strconv.Itoa(hi)
	}
	return lo, hi, next, nil
}

func (s *Sim) describeClusters(in describeInput) (any, error) {
	var v wire.Validator
	v.String("nextToken", in.NextToken, 0, 256, nextTokenPattern, false)
	v.Int("maxResults", in.MaxResults, 1, 25)
	if err := v.Err(); err != nil {
		return nil, err
	}
	for k := range in.Filters {
		if k != "clusterIds" && k != "states" && k != "vpcIds" {
			return nil, invalidRequest("Invalid filter key %s: valid keys are clusterIds, states and vpcIds", k)
		}
	}
	var list []*Cluster
	for _, c := range s.st.Clusters {
		if match(in.Filters["clusterIds"], c.ID) && match(in.Filters["states"], c.State) && match(in.Filters["vpcIds"], c.VpcID) {
			list = append(list, c)
		}
	}
	lo, hi, next, err := page(len(list), in.NextToken, in.MaxResults, 25)
	if err != nil {
		return nil, err
	}
	out := struct {
		Clusters  []clusterView
		NextToken string `json:",omitempty"`
	}{Clusters: []clusterView{}, NextToken: next}
	for _, c := range list[lo:hi] {
		out.Clusters = append(out.Clusters, s.view(c))
	}
	return out, nil
}

func match(filter []string, value string) bool {
	if filter == nil {
		return true
	}
	for _, f := range filter {
		if f == value {
			return true
		}
	}
	return false
}

type initializeInput struct {
	ClusterId   *string
	SignedCert  *string
	TrustAnchor *string
}

func (s *Sim) initializeCluster(now time.Time, in initializeInput) (any, error) {
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	v.Required("signedCert", in.SignedCert != nil)
	v.String("signedCert", in.SignedCert, 0, 20000, certPattern, false)
	v.Required("trustAnchor", in.TrustAnchor != nil)
	v.String("trustAnchor", in.TrustAnchor, 0, 20000, certPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	if c.State != StateUninitialized {
		return nil, invalidRequest("Cluster %s is in state %s; only an UNINITIALIZED cluster can be initialized", c.ID, c.State)
	}
	if c.PKI.CSR == "" {
		return nil, invalidRequest("Cluster %s has no active HSM yet, so it has no certificate signing request to sign", c.ID)
	}
	if err := verifyInitialization(c, *in.SignedCert, *in.TrustAnchor); err != nil {
		return nil, invalidRequest("Cannot initialize cluster %s: %s", c.ID, err.Error())
	}
	c.PKI.Certificate = *in.SignedCert
	c.PKI.TrustAnchor = *in.TrustAnchor
	c.State = StateInitializeInProgress
	c.StateMessage = "Cluster is initializing. State will change to INITIALIZED upon completion."
	c.Until = now.Add(clusterInitTime)
	return map[string]string{"State": c.State, "StateMessage": c.StateMessage}, nil
}

type createHsmInput struct {
	ClusterId        *string
	AvailabilityZone *string
	IpAddress        *string
}

func (s *Sim) createHsm(now time.Time, in createHsmInput) (any, error) {
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	v.Required("availabilityZone", in.AvailabilityZone != nil)
	v.String("availabilityZone", in.AvailabilityZone, 0, 1<<20, azPattern, false)
	v.String("ipAddress", in.IpAddress, 0, 1<<20, ipPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	switch c.State {
	case StateUninitialized, StateInitialized, StateActive:
	default:
		return nil, invalidRequest("Cannot create an HSM while cluster %s is in state %s", c.ID, c.State)
	}
	if c.State == StateUninitialized && len(c.HSMs) > 0 {
		return nil, invalidRequest("Cluster %s is not initialized; an uninitialized cluster can have only one HSM", c.ID)
	}
	if len(c.HSMs) >= maxHSMsPerCluster {
		return nil, wire.Errorf("CloudHsmResourceLimitExceededException", "Cluster %s already has %d HSMs", c.ID, maxHSMsPerCluster)
	}
	subnetID, ok := c.SubnetMapping[*in.AvailabilityZone]
	if !ok {
		return nil, invalidRequest("Availability Zone %s is not in the subnet mapping of cluster %s", *in.AvailabilityZone, c.ID)
	}
	n := s.subnet(subnetID)
	if n == nil || n.Deleted {
		return nil, invalidRequest("The subnet %s of cluster %s in %s does not exist", subnetID, c.ID, *in.AvailabilityZone)
	}
	if n.FreeAddresses < 1 {
		return nil, invalidRequest("Subnet %s has no free IP addresses", n.ID)
	}
	eni := s.allocateENI(n, "CloudHSM managed ENI for HSM in cluster "+c.ID, c.SecurityGroup)
	if in.IpAddress != nil {
		eni.IP = *in.IpAddress
	}
	h := &HSM{ID: "hsm-" + s.base32(11), AZ: n.AZ, SubnetID: n.ID, EniID: eni.ID, EniIP: eni.IP,
		State: HsmCreateInProgress, Until: now.Add(hsmCreateTime)}
	c.HSMs = append(c.HSMs, h)
	return map[string]any{"Hsm": s.hsmView(c, h)}, nil
}

type deleteHsmInput struct {
	ClusterId *string
	HsmId     *string
	EniId     *string
	EniIp     *string
}

func (s *Sim) deleteHsm(now time.Time, in deleteHsmInput) (any, error) {
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	v.String("hsmId", in.HsmId, 0, 1<<20, hsmIDPattern, false)
	v.String("eniId", in.EniId, 0, 1<<20, eniIDPattern, false)
	v.String("eniIp", in.EniIp, 0, 1<<20, ipPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.HsmId == nil && in.EniId == nil && in.EniIp == nil {
		return nil, invalidRequest("Specify the HSM to delete with HsmId, EniId or EniIp")
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	var h *HSM
	for _, x := range c.HSMs {
		if (in.HsmId == nil || *in.HsmId == x.ID) && (in.EniId == nil || *in.EniId == x.EniID) && (in.EniIp == nil || *in.EniIp == x.EniIP) {
			h = x
			break
		}
	}
	if h == nil {
		return nil, notFound("No such HSM in cluster %s", c.ID)
	}
	if h.State == HsmDeleteInProgress {
		return nil, invalidRequest("HSM %s is already being deleted", h.ID)
	}
	h.State = HsmDeleteInProgress
	h.Until = now.Add(hsmDeleteTime)
	return map[string]string{"HsmId": h.ID}, nil
}

type clusterIDInput struct {
	ClusterId *string
}

func (s *Sim) deleteCluster(now time.Time, in clusterIDInput) (any, error) {
	var v wire.Validator
	v.Required("clusterId", in.ClusterId != nil)
	v.String("clusterId", in.ClusterId, 0, 1<<20, clusterIDPattern, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := s.cluster(*in.ClusterId)
	if c == nil || c.State == StateDeleted {
		return nil, notFound("Cluster %s not found", *in.ClusterId)
	}
	if c.State == StateDeleteInProgress {
		return nil, invalidRequest("Cluster %s is already being deleted", c.ID)
	}
	if len(c.HSMs) > 0 {
		return nil, invalidRequest("Cluster %s still contains %d HSM(s); delete them before deleting the cluster", c.ID, len(c.HSMs))
	}
	c.State = StateDeleteInProgress
	c.Until = now.Add(clusterDeleteTime)
	return map[string]any{"Cluster": s.view(c)}, nil
}

func (s *Sim) describeBackups(in describeInput) (any, error) {
	var v wire.Validator
	v.String("nextToken", in.NextToken, 0, 256, nextTokenPattern, false)
	v.Int("maxResults", in.MaxResults, 1, 50)
	if err := v.Err(); err != nil {
		return nil, err
	}
	for k := range in.Filters {
		if k != "backupIds" && k != "sourceBackupIds" && k != "clusterIds" && k != "states" && k != "neverExpires" {
			return nil, invalidRequest("Invalid filter key %s", k)
		}
	}
	var list []*Backup
	for _, b := range s.st.Backups {
		if match(in.Filters["backupIds"], b.ID) && match(in.Filters["clusterIds"], b.ClusterID) && match(in.Filters["states"], "READY") {
			list = append(list, b)
		}
	}
	if in.SortAscending == nil || !*in.SortAscending {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
	}
	lo, hi, next, err := page(len(list), in.NextToken, in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	type backupView struct {
		BackupArn       string
		BackupId        string
		BackupState     string
		ClusterId       string
		CreateTimestamp wire.Timestamp
		HsmType         string
		Mode            string
		NeverExpires    bool
	}
	out := struct {
		Backups   []backupView
		NextToken string `json:",omitempty"`
	}{Backups: []backupView{}, NextToken: next}
	for _, b := range list[lo:hi] {
		out.Backups = append(out.Backups, backupView{
			BackupArn: "arn:aws:cloudhsm:" + s.st.Region + ":" + s.st.AccountID + ":backup/" + b.ID,
			BackupId:  b.ID, BackupState: "READY", ClusterId: b.ClusterID,
			CreateTimestamp: wire.Timestamp(b.Created), HsmType: b.HsmType, Mode: b.Mode})
	}
	return out, nil
}

// clusterView is a Cluster as DescribeClusters shows it.
type clusterView struct {
	BackupPolicy          string
	BackupRetentionPolicy RetentionPolicy
	Certificates          map[string]string
	ClusterId             string
	CreateTimestamp       wire.Timestamp
	Hsms                  []hsmView
	HsmType               string
	Mode                  string
	NetworkType           string
	SecurityGroup         string
	SourceBackupId        string `json:",omitempty"`
	State                 string
	StateMessage          string `json:",omitempty"`
	SubnetMapping         map[string]string
	TagList               []Tag `json:",omitempty"`
	VpcId                 string
}

type hsmView struct {
	AvailabilityZone string
	ClusterId        string
	EniId            string
	EniIp            string
	HsmId            string
	HsmType          string
	State            string
	StateMessage     string
	SubnetId         string
}

func (s *Sim) view(c *Cluster) clusterView {
	certs := map[string]string{}
	if c.PKI.CSR != "" && c.State == StateUninitialized {
		certs["ClusterCsr"] = c.PKI.CSR
	}
	if c.PKI.Certificate != "" {
		certs["ClusterCertificate"] = c.PKI.Certificate
	}
	retention := c.Retention
	if retention.Type == "" { // saved before the policy was recorded
		retention = RetentionPolicy{Type: "DAYS", Value: "90"}
	}
	v := clusterView{BackupPolicy: "DEFAULT", BackupRetentionPolicy: retention,
		Certificates: certs, ClusterId: c.ID, CreateTimestamp: wire.Timestamp(c.Created), Hsms: []hsmView{},
		HsmType: c.HsmType, Mode: c.Mode, NetworkType: "IPV4", SecurityGroup: c.SecurityGroup,
		SourceBackupId: c.SourceBackupID, State: c.State, StateMessage: c.StateMessage,
		SubnetMapping: c.SubnetMapping, TagList: c.Tags, VpcId: c.VpcID}
	for _, h := range c.HSMs {
		v.Hsms = append(v.Hsms, s.hsmView(c, h))
	}
	return v
}

func (s *Sim) hsmView(c *Cluster, h *HSM) hsmView {
	msg := map[string]string{HsmCreateInProgress: "HSM is being created.", HsmActive: "HSM created.",
		HsmDeleteInProgress: "HSM is being deleted."}[h.State]
	return hsmView{AvailabilityZone: h.AZ, ClusterId: c.ID, EniId: h.EniID, EniIp: h.EniIP, HsmId: h.ID,
		HsmType: c.HsmType, State: h.State, StateMessage: msg, SubnetId: h.SubnetID}
}
