# One line per object of a kubectl List: "KIND NAMESPACE/NAME UID FINGERPRINT", where
# FINGERPRINT (base64 of canonical JSON) is everything a writer of the object changes:
# labels, annotations, finalizers, owners, deletion, the content (spec, data, rules,
# roleRef, subjects, type) and who wrote it last and when (every managedFields entry
# except the status subresource's). Not the resourceVersion: istiod writes status on the
# user's ServiceEntry (its auto-allocated addresses), which is Istio's own business.
# Used by hack/cluster.sh (recording) and test/integration/test_user_objects.sh (checking).
.items[] | "\(.kind) \(.metadata.namespace // "")/\(.metadata.name) \(.metadata.uid) \(
  {labels: .metadata.labels, annotations: .metadata.annotations,
   finalizers: .metadata.finalizers, owners: .metadata.ownerReferences,
   deleting: .metadata.deletionTimestamp, spec, data, stringData, rules, roleRef, subjects,
   type, writers: [.metadata.managedFields[]? | select(.subresource != "status") |
     "\(.manager) \(.operation) \(.time)"]} | tojson | @base64)"
