"""Split policy documents into retrievable chunks that keep their heading path, region and sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.knowledge.citations import cite_keys, strip_citations
from assistant.knowledge.models import Document, Source

if TYPE_CHECKING:  # imported when splitting: a server that only answers never needs LangChain (~2 s)
    from langchain_text_splitters import RecursiveCharacterTextSplitter

CHINESE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    region: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    sources: tuple[Source, ...]
    topics: tuple[str, ...]

    @property
    def context(self) -> str:
        """The heading path shown and embedded with the text."""
        path = [h for h in self.heading_path if h != self.title]
        return " / ".join([self.title, *path])

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"


def make_splitter(chunk_size: int = 400, chunk_overlap: int = 40) -> RecursiveCharacterTextSplitter:
    """Recursive splitter on paragraph, line and Chinese sentence boundaries (separator kept at the end)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=CHINESE_SEPARATORS, chunk_size=chunk_size, chunk_overlap=chunk_overlap,
        keep_separator="end", strip_whitespace=True,
    )


def chunk_document(doc: Document, splitter: RecursiveCharacterTextSplitter | None = None) -> list[Chunk]:
    """One chunk per section, or several when a section is longer than the splitter's size.

    A piece cut from a section keeps the citations it contains; a piece with none inherits the
    citations of its whole section, so every chunk has sources.
    """
    splitter = splitter or make_splitter()
    chunks: list[Chunk] = []
    for section in doc.sections:
        section_keys = cite_keys(section.text)
        for piece in splitter.split_text(section.text):
            keys = cite_keys(piece) or section_keys
            text = strip_citations(piece)
            if not text:
                continue
            sources = tuple(dict.fromkeys(doc.sources[k] for k in keys if k in doc.sources))
            chunks.append(Chunk(
                id=f"{doc.id}#{len(chunks) + 1}", doc_id=doc.id, region=doc.region, title=doc.title,
                heading_path=section.heading_path, text=text, sources=sources, topics=doc.topics,
            ))
    return chunks
