package io.dharmana.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/** Writes S3's response XML and reads its few request bodies (with DTDs and entities disabled). */
final class Xml {
  static final String NS = "http://s3.amazonaws.com/doc/2006-03-01/";
  private static final DateTimeFormatter ISO = DateTimeFormatter.ISO_INSTANT;

  private static final String DECLARATION = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  private final StringBuilder out = new StringBuilder(256).append(DECLARATION);
  private final List<String> open = new ArrayList<>();

  /** Starts the document element in S3's namespace. */
  static Xml document(String root) {
    Xml xml = new Xml();
    xml.out.append('<').append(root).append(" xmlns=\"").append(NS).append("\">");
    xml.open.add(root);
    return xml;
  }

  /** Starts a document element without a namespace (S3's {@code Error} has none). */
  static Xml bare(String root) {
    Xml xml = new Xml();
    xml.out.append('<').append(root).append('>');
    xml.open.add(root);
    return xml;
  }

  Xml start(String name) {
    out.append('<').append(name).append('>');
    open.add(name);
    return this;
  }

  Xml end() {
    out.append("</").append(open.remove(open.size() - 1)).append('>');
    return this;
  }

  Xml element(String name, Object value) {
    if (value == null) {
      return this;
    }
    out.append('<').append(name).append('>');
    escape(String.valueOf(value));
    out.append("</").append(name).append('>');
    return this;
  }

  Xml element(String name, Instant value) {
    return element(name, (Object) timestamp(value));
  }

  static String timestamp(Instant value) {
    return ISO.format(value.truncatedTo(ChronoUnit.MILLIS));
  }

  /** The document without its XML declaration, for a response that already sent one. */
  byte[] toBytesWithoutDeclaration() {
    byte[] all = toBytes();
    int skip = DECLARATION.getBytes(StandardCharsets.UTF_8).length;
    return java.util.Arrays.copyOfRange(all, skip, all.length);
  }

  byte[] toBytes() {
    while (!open.isEmpty()) {
      end();
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private void escape(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&apos;");
        case '\r' -> out.append("&#13;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t') {
            out.append("&#").append((int) c).append(';');
          } else {
            out.append(c);
          }
        }
      }
    }
  }

  /** Parses a small request body; malformed input becomes S3's MalformedXML. */
  static Element parse(byte[] body) {
    try {
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setNamespaceAware(true);
      factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      factory.setExpandEntityReferences(false);
      DocumentBuilder builder = factory.newDocumentBuilder();
      builder.setErrorHandler(null);
      Document doc = builder.parse(new ByteArrayInputStream(body));
      return doc.getDocumentElement();
    } catch (ParserConfigurationException | SAXException | IOException e) {
      throw S3Failure.malformedXml("Invalid XML request body: " + e.getMessage());
    }
  }

  /** The direct children of {@code parent} with local name {@code name}. */
  static List<Element> children(Element parent, String name) {
    List<Element> result = new ArrayList<>();
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && name.equals(e.getLocalName() != null ? e.getLocalName() : e.getTagName())) {
        result.add(e);
      }
    }
    return result;
  }

  /** The text of the first child named {@code name}, or null. */
  static String childText(Element parent, String name) {
    List<Element> found = children(parent, name);
    return found.isEmpty() ? null : found.get(0).getTextContent().trim();
  }
}
