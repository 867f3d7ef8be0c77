"""Link lists: news, papers and resources, one typed row per link."""

from ..fields import EMPTY_ROWS_HELP, ItemRowsField
from .base import BlockKind, link_text, register
from .sanitizer import safe_url


@register
class LinkList(BlockKind):
    name, label = "link_list", "Link list"
    help = "News, papers, resources: a title, its link and a one-line note for each."

    def fields(self):
        return {"items": ItemRowsField(help_text=EMPTY_ROWS_HELP)}

    def context(self, data, ctx):
        return {"items": [{**item, "url": safe_url(item["url"])} for item in data["items"]]}

    def text(self, data, ctx):
        return "\n".join(
            f"- {link_text(i['title'], i['url'])}" + (f"\n  {i['note']}" if i.get("note") else "")
            for i in data["items"]
        )

    def links(self, data):
        return [item["url"] for item in data["items"]]
