"""A browser's side of the room's shared document, played by pycrdt (the same encoding as Yjs):
edits made here come out as the Yjs updates a browser would send."""

from pycrdt import Array, Doc, Map, XmlElement, XmlFragment, XmlText

from peerlearn.services import room_documents


class Editor:
    """One browser's copy of a session's document. Each edit returns the update it made."""

    def __init__(self, state=None):
        self.doc = Doc()
        self.doc.apply_update(state if state is not None else room_documents.SEED)
        self._made = []
        self._subscription = self.doc.observe(lambda event: self._made.append(event.update))

    def _take(self):
        made, self._made = self._made, []
        return b"".join(made[:1]) if len(made) == 1 else _merge(made)

    def receive(self, update):
        self.doc.apply_update(update)
        self._made.clear()

    @property
    def notes(self):
        return self.doc.get(room_documents.NOTES, type=XmlFragment)

    @property
    def pages(self):
        return self.doc.get(room_documents.PAGES, type=Map)

    def add_block(self, tag, text="", attributes=None, marks=None):
        """A block with text; ``marks``: [(start, end, {mark: attrs})]."""
        element = XmlElement(tag, attributes or {})
        self.notes.children.append(element)
        if text:
            run = XmlText(text)
            element.children.append(run)
            for start, end, attrs in marks or ():
                run.format(start, end, attrs)
        return self._take()

    def add_list(self, tag, items):
        listing = XmlElement(tag)
        self.notes.children.append(listing)
        for item in items:
            entry = XmlElement("listItem")
            listing.children.append(entry)
            paragraph = XmlElement("paragraph")
            entry.children.append(paragraph)
            paragraph.children.append(XmlText(item))
        return self._take()

    def add_shape(self, shape, page=room_documents.FIRST_PAGE):
        self.pages[page].append(shape)
        return self._take()

    def erase(self, index, page=room_documents.FIRST_PAGE):
        del self.pages[page][index]
        return self._take()

    def add_page(self, page_id):
        self.pages[page_id] = Array()
        return self._take()

    def shapes(self, page=room_documents.FIRST_PAGE):
        return list(self.pages[page])


def _merge(updates):
    from pycrdt import merge_updates

    return merge_updates(*updates)


def document_of(state):
    doc = Doc()
    doc.apply_update(state)
    return doc
