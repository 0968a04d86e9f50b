package engine

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"keystorelab/hsmsim/wire"
)

type aliasInput struct {
	AliasName   *string
	TargetKeyId *string
}

// checkAliasName validates an AliasName member and the rules KMS adds: the
// alias/ prefix, and no alias/aws/ (reserved for AWS managed keys).
func checkAliasName(name *string) error {
	var v wire.Validator
	v.Required("aliasName", name != nil)
	v.String("aliasName", name, 1, 256, aliasPattern, false)
	if err := v.Err(); err != nil {
		return err
	}
	if !strings.HasPrefix(*name, "alias/") || len(*name) == len("alias/") {
		return exception("ValidationException", "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
	}
	if strings.HasPrefix(*name, "alias/aws/") {
		return exception("NotAuthorizedException", "Cannot create, update or delete an alias that begins with alias/aws/: it is reserved for AWS managed keys.")
	}
	return nil
}

// createAlias is TrentService.CreateAlias.
func (e *Engine) createAlias(_ time.Time, body []byte) (any, error) {
	var in aliasInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	k, err := e.findKey("targetKeyId", in.TargetKeyId, false)
	if err != nil {
		return nil, err
	}
	if e.aliasNamed(*in.AliasName) != nil {
		return nil, exception("AlreadyExistsException", "An alias with the name %s already exists", e.aliasARN(*in.AliasName))
	}
	if err := e.checkKeyState("CreateAlias", k); err != nil {
		return nil, err
	}
	e.st.Aliases = append(e.st.Aliases, &alias{Name: *in.AliasName, KeyID: k.ID, Created: e.now, Updated: e.now})
	return struct{}{}, nil
}

// updateAlias is TrentService.UpdateAlias: the alias moves to another key.
func (e *Engine) updateAlias(_ time.Time, body []byte) (any, error) {
	var in aliasInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	k, err := e.findKey("targetKeyId", in.TargetKeyId, false)
	if err != nil {
		return nil, err
	}
	a := e.aliasNamed(*in.AliasName)
	if a == nil {
		return nil, exception("NotFoundException", "Alias %s is not found.", e.aliasARN(*in.AliasName))
	}
	if err := e.checkKeyState("UpdateAlias", k); err != nil {
		return nil, err
	}
	a.KeyID, a.Updated = k.ID, e.now
	return struct{}{}, nil
}

// deleteAlias is TrentService.DeleteAlias.
func (e *Engine) deleteAlias(_ time.Time, body []byte) (any, error) {
	var in aliasInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	a := e.aliasNamed(*in.AliasName)
	if a == nil {
		return nil, exception("NotFoundException", "Alias %s is not found.", e.aliasARN(*in.AliasName))
	}
	e.st.Aliases = slices.DeleteFunc(e.st.Aliases, func(x *alias) bool { return x == a })
	return struct{}{}, nil
}

// listAliases is TrentService.ListAliases: the sandbox's aliases in
// creation order, or those of one key.
func (e *Engine) listAliases(_ time.Time, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := page(in, "aliases")
	if err != nil {
		return nil, err
	}
	keyID := ""
	if in.KeyId != nil {
		k, err := e.findKey("keyId", in.KeyId, false)
		if err != nil {
			return nil, err
		}
		keyID = k.ID
	}
	type entry struct {
		AliasArn        string
		AliasName       string
		CreationDate    wire.Timestamp
		LastUpdatedDate wire.Timestamp
		TargetKeyId     string
	}
	out := struct {
		Aliases    []entry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Aliases: []entry{}}
	for i := int(after); i < len(e.st.Aliases); i++ {
		a := e.st.Aliases[i]
		if keyID != "" && a.KeyID != keyID {
			continue
		}
		if len(out.Aliases) == limit {
			out.Truncated, out.NextMarker = true, nextMarker("aliases", int64(i))
			break
		}
		out.Aliases = append(out.Aliases, entry{e.aliasARN(a.Name), a.Name, wire.Timestamp(a.Created), wire.Timestamp(a.Updated), a.KeyID})
	}
	return out, nil
}

type tagResourceInput struct {
	KeyId   *string
	Tags    []tagInput
	TagKeys []string
}

// tagResource is TrentService.TagResource: new keys are added, existing
// ones get the new value.
func (e *Engine) tagResource(_ time.Time, body []byte) (any, error) {
	var in tagResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("tags", in.Tags != nil)
	validateTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := e.checkKeyState("TagResource", k); err != nil {
		return nil, err
	}
	tags := slices.Clone(k.Tags)
	for _, t := range in.Tags {
		i := slices.IndexFunc(tags, func(x tag) bool { return x.TagKey == *t.TagKey })
		if i >= 0 {
			tags[i].TagValue = *t.TagValue
		} else {
			tags = append(tags, tag{*t.TagKey, *t.TagValue})
		}
	}
	if len(tags) > 50 {
		return nil, exception("TagException", "A KMS key can have at most 50 tags; this request would give it %d.", len(tags))
	}
	k.Tags = tags
	return struct{}{}, nil
}

// untagResource is TrentService.UntagResource; keys the key does not have
// are ignored.
func (e *Engine) untagResource(_ time.Time, body []byte) (any, error) {
	var in tagResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v wire.Validator
	v.Required("tagKeys", in.TagKeys != nil)
	for i := range in.TagKeys {
		v.String("tagKeys."+strconv.Itoa(i+1)+".member", &in.TagKeys[i], 1, 128, nil, false)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := e.checkKeyState("UntagResource", k); err != nil {
		return nil, err
	}
	k.Tags = slices.DeleteFunc(k.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.TagKey) })
	return struct{}{}, nil
}

// listResourceTags is TrentService.ListResourceTags.
func (e *Engine) listResourceTags(_ time.Time, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := page(listInput{Limit: in.Limit, Marker: in.Marker}, "tags")
	if err != nil {
		return nil, err
	}
	if in.Limit != nil && *in.Limit > 50 {
		limit = 50
	}
	k, err := e.findKey("keyId", in.KeyId, false)
	if err != nil {
		return nil, err
	}
	out := struct {
		Tags       []tag
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Tags: []tag{}}
	for i := int(after); i < len(k.Tags); i++ {
		if len(out.Tags) == limit {
			out.Truncated, out.NextMarker = true, nextMarker("tags", int64(i))
			break
		}
		out.Tags = append(out.Tags, k.Tags[i])
	}
	return out, nil
}
