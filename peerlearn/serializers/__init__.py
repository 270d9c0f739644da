"""What each resource looks like as JSON, one module per resource, whoever sends it: the API's
answers, the events a socket emits and the payloads a job or a service hands to the room.

A serializer takes a loaded row (and any figures its service worked out) and names every field
it shows, so adding a column never publishes it by accident. Serializers read rows and format
values; they query nothing, and take labels from the service that owns them.
"""
