#pragma once
// Another centre's EIDO document, shared by the EIDO and command tests: its
// own identifiers, HTML notes, a PIDF-LO with other prefixes, priority given
// only as the common number.
inline constexpr const char* kNeighbour = R"({
  "$id": "urn:emergency:uid:eido:9f2c:psap.county.example",
  "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
  "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
  "eidoVersion": "1.0",
  "issuingElementIdentification": "cad1.psap.county.example",
  "agencyComponent": [{
    "$id": "urn:emergency:uid:agencyid:county-so.example",
    "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "agencyRoleDescriptionRegistryText": ["Primary"],
    "agencyType": ["police"],
    "incidentOwningAgencyIndicator": true
  }],
  "incidentComponent": {
    "$id": "urn:emergency:uid:incidentid:CSO-26-88123:county-so.example",
    "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "incidentTypeCommonRegistryText": "VEHSTLN",
    "incidentTypeInternalCode": "10-851",
    "incidentStatusCommonRegistryText": ["Active"],
    "internalIncidentId": "CSO-26-88123",
    "incidentCommonPriorityNumber": 7,
    "locationReference": [{"$ref": "loc-1"}],
    "notesReference": [{"$ref": "n-1"}]
  },
  "locationComponent": [{
    "$id": "loc-1",
    "lastUpdateTimeStamp": "2026-11-30T21:58:00-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "locationTypeDescriptionRegistryText": "Incident",
    "locationByValue": "<?xml version=\"1.0\"?><p:presence xmlns:p=\"urn:ietf:params:xml:ns:pidf\" xmlns:geo=\"urn:ietf:params:xml:ns:pidf:geopriv10\" xmlns:g=\"http://www.opengis.net/gml\" xmlns:c=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\" entity=\"pres:x@example\"><p:tuple id=\"a\"><p:status><geo:geopriv><geo:location-info><g:Point><g:pos>41.5 -73.25</g:pos></g:Point><c:civicAddress><c:LOC>Rte 7 mile 12, northbound</c:LOC></c:civicAddress></geo:location-info></geo:geopriv></p:status></p:tuple></p:presence>"
  }],
  "notesComponent": [
    {"$id": "n-2", "lastUpdateTimeStamp": "2026-11-30T22:01:30-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "<p>Unit 4A <b>in pursuit</b> &amp; requesting aid</p>"},
    {"$id": "n-1", "lastUpdateTimeStamp": "2026-11-30T21:58:00-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "Grey Honda, plate &quot;KXT 4471&quot;"},
    {"$id": "n-3", "lastUpdateTimeStamp": "2026-11-30T21:59:00-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "Call received"}
  ],
  "emergencyResourceComponent": [{
    "$id": "r-4A",
    "lastUpdateTimeStamp": "2026-11-30T22:01:30-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "agentReference": [],
    "emergencyResourceTypeCommonRegistryText": "vehicle",
    "emergencyResourceName": "4A",
    "primaryUnitStatusRegistryText": "Enroute",
    "secondaryUnitStatusRegistryText": [],
    "resourceAttributeRegistryText": []
  }]
})";
